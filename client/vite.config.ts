import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The server serves client/dist at `/` in production; `vite` alone proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
      '/yjs': { target: 'http://127.0.0.1:4000', ws: true },
      '/auth': 'http://127.0.0.1:4000',
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
