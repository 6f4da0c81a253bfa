import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { precompress } from './scripts/precompress';

/**
 * Libraries in chunks of their own: they change far less often than the app, so a deploy invalidates only the
 * small app chunk in browsers' caches, and no chunk mixes unrelated code.
 */
const VENDOR_CHUNKS = [
  { name: 'react', test: /node_modules[\\/](react|react-dom|react-router|scheduler|cookie|set-cookie-parser)[\\/]/ },
  { name: 'apollo', test: /node_modules[\\/](@apollo|@wry|graphql|graphql-ws|optimism|rxjs|tslib|ts-invariant|@graphql-typed-document-node)[\\/]/ },
  { name: 'yjs', test: /node_modules[\\/](yjs|y-websocket|y-protocols|lib0)[\\/]/ },
  // After the libraries it uses: a group takes the modules its own import (includeDependenciesRecursively), so
  // with ag-grid first, React went into ag-grid's chunk and every page downloaded AG Grid to get React.
  { name: 'ag-grid', test: /node_modules[\\/]ag-grid-/ },
  // Loaded with the views that use them only (Shell loads those views lazily): the workflow forms, the charts
  // and the audit log's CSV export.
  { name: 'csv-stringify', test: /node_modules[\\/]csv-stringify[\\/]/ },
  { name: 'rjsf', test: /node_modules[\\/](@rjsf|@x0k|markdown-to-jsx|fast-equals|fast-uri|jsonpointer)[\\/]/ },
  {
    name: 'recharts',
    test: /node_modules[\\/](recharts|@reduxjs|redux|redux-thunk|react-redux|reselect|immer|victory-vendor|d3-[a-z-]+|internmap|decimal\.js-light|es-toolkit|eventemitter3|tiny-invariant|use-sync-external-store)[\\/]/,
  },
];

// The server serves client/dist at `/` in production, each file's .br or .gz copy (scripts/precompress.ts) where the
// browser accepts it; `vite` alone proxies the API to a running server.
export default defineConfig({
  plugins: [react(), precompress()],
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
      '/yjs': { target: 'http://127.0.0.1:4000', ws: true },
      '/auth': 'http://127.0.0.1:4000',
      '/export': 'http://127.0.0.1:4000',
      '/import': 'http://127.0.0.1:4000',
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rolldownOptions: { output: { codeSplitting: { groups: VENDOR_CHUNKS } } },
    // ag-grid-community ships as one 1.17 MB module, which no chunking can split; every other chunk is under
    // 250 kB. The limit sits just above ag-grid so that the warning still catches a chunk that grows by
    // accident (registering only the ag-grid modules the grid uses, instead of AllCommunityModule, would
    // shrink it; that is the grid's code, not the build's).
    chunkSizeWarningLimit: 1200,
  },
});
