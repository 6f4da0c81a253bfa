/**
 * The dependency picture of server/src, checked by `npm test` (server/src/structure/imports.test.ts) and by
 * `npx depcruise server/src --config .dependency-cruiser.cjs`.
 *
 * Layers, lowest first; arrows point down:
 *   foundation    config, log, ids, errors, paths, internals/, and schema/codes.ts (shared with the client)
 *   platform      db/, graphql/, realtime/ (the bus, fanout, Redis link, socket caps), policies/, and http/'s
 *                 request utilities (addresses, upgrade targets, headers, metrics)
 *   capabilities  activity < directory < auth < budget < workflow < webhooks < notifications < odata (the read-only feed) < spreadsheets
 *                 (export and import files), and collab (the grid, beside workflow)
 *   transports    http/server.ts, realtime/graphqlWs.ts: serve the schema and the capabilities
 *   composition   app, main, schema, entities, seed, services, events: the one place that knows everything
 *
 * Type-only imports cross upward in two places, each a description and not a call: the request context's
 * `Services` (graphql/context.ts, the transports, and auth's sign-in routes name the services they are
 * handed), and the policies naming the row types they decide on (a submission's status).
 */
const FOUNDATION = '^server/src/(config|log|ids|errors|paths)\\.ts$|^server/src/internals/|^schema/codes\\.ts$';
const PLATFORM = '^server/src/(db|graphql|policies)/|^server/src/realtime/(?!graphqlWs\\.ts$)|^server/src/http/(?!server\\.ts$)';
const CAPABILITIES = '^server/src/(activity|directory|auth|budget|workflow|collab|webhooks|notifications|odata|spreadsheets)/';
const TRANSPORTS = '^server/src/http/server\\.ts$|^server/src/realtime/graphqlWs\\.ts$';
const COMPOSITION = '^server/src/(app|main|schema|entities|seed|services|events)\\.ts$';
const SERVICES_TYPE = '^server/src/services\\.ts$';
const TESTS = '\\.test\\.ts$|^server/src/testing/';

/** A capability may use the ones before it in this order, never the ones after. */
const ORDER = ['activity', 'directory', 'auth', 'budget', 'workflow', 'webhooks', 'notifications', 'odata', 'spreadsheets'];
const capabilityOrder = ORDER.map((name, i) => ({
  name: `capability-order-${name}`,
  comment: `${name}/ may not import ${ORDER.slice(i + 1).concat('collab').join(', ')}/ (capabilities import the ones below them)`,
  severity: 'error',
  from: { path: `^server/src/${name}/`, pathNot: TESTS },
  to: { path: `^server/src/(${ORDER.slice(i + 1).concat('collab').join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: { path: '^server/src/', pathNot: TESTS },
      to: { circular: true },
    },
    {
      name: 'foundation-stands-alone',
      comment: 'Foundation modules import nothing of ours but each other.',
      severity: 'error',
      from: { path: FOUNDATION, pathNot: TESTS },
      to: { path: '^(server/src|schema|migrations)/', pathNot: FOUNDATION },
    },
    {
      name: 'platform-does-not-import-up',
      comment: 'db/, graphql/, realtime/ and policies/ run no capability, transport or composition code.',
      severity: 'error',
      from: { path: PLATFORM, pathNot: TESTS },
      to: { path: `${CAPABILITIES}|${TRANSPORTS}|${COMPOSITION}`, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'platform-types-up-only-services-and-policy-rows',
      comment: 'Type-only imports upward from the platform: the Services of the context, and (policies/) the row types they decide on.',
      severity: 'error',
      from: { path: PLATFORM, pathNot: `${TESTS}|^server/src/policies/` },
      to: { path: `${CAPABILITIES}|${TRANSPORTS}|${COMPOSITION}`, pathNot: SERVICES_TYPE, dependencyTypes: ['type-only'] },
    },
    {
      name: 'capabilities-do-not-import-transports-or-composition',
      comment: 'Capabilities are composed by app.ts and served by the transports; they import neither (Services as a type only).',
      severity: 'error',
      from: { path: CAPABILITIES, pathNot: TESTS },
      to: { path: `${TRANSPORTS}|${COMPOSITION}`, pathNot: SERVICES_TYPE },
    },
    {
      name: 'capabilities-use-services-as-a-type-only',
      severity: 'error',
      from: { path: `${CAPABILITIES}|${PLATFORM}|${TRANSPORTS}`, pathNot: TESTS },
      to: { path: SERVICES_TYPE, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'transports-do-not-import-composition',
      severity: 'error',
      from: { path: TRANSPORTS, pathNot: TESTS },
      to: { path: COMPOSITION, pathNot: SERVICES_TYPE },
    },
    ...capabilityOrder,
    {
      name: 'collab-does-not-import-workflow',
      severity: 'error',
      from: { path: '^server/src/collab/', pathNot: TESTS },
      to: { path: '^server/src/workflow/' },
    },
    {
      name: 'production-does-not-import-tests',
      severity: 'error',
      from: { path: '^server/src/', pathNot: TESTS },
      to: { path: TESTS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // Our imports name the compiled file ('./x.js'); the TypeScript config maps them to the sources. An absolute
    // path: dependency-cruiser 16 resolves a relative one's `extends` from the wrong folder.
    tsConfig: { fileName: require('node:path').join(__dirname, 'server/tsconfig.json') },
    exclude: { path: '^server/dist/|node_modules' },
  },
};
