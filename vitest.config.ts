import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One copy of graphql for type-graphql, Apollo and the tests ("Cannot use GraphQLSchema from another realm").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['server/src/**/*.test.ts', 'client/test/**/*.test.ts', 'scripts/**/*.test.mjs'],
    globalSetup: ['server/src/testing/globalSetup.ts'],
    setupFiles: ['server/src/testing/setup.ts'],
    testTimeout: 60_000,
    // expect.poll waits 1 s by default: browser tests poll what the page shows after websocket round trips,
    // which a loaded CI machine (two test files at once, each with its server, database and Chromium) can take
    // several seconds to deliver: a wait bound, not a timing threshold.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: files run two at a time, each against a database of its own.
    maxWorkers: 2,
    // Each worker process runs its files one after another without reloading the modules: importing the server
    // (type-graphql, MikroORM, Apollo) cost every file 4 to 8 s, a third of the suite's time on two cores.
    // Nothing a test file sets is global (no module mocks, no fake timers, no env stubs; every server, database
    // and browser is made and torn down by the file), so sharing the module cache changes no outcome.
    isolate: false,
  },
});
