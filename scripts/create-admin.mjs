#!/usr/bin/env node
// `npm run create-admin -- <email>`: makes <email> an admin of this Plansync's database (creating the person, or
// promoting and reactivating them; their earlier password and tokens end) and prints a one-time set-password
// URL for them, valid INVITATION_TTL_HOURS. For the first admin of an empty production database, without
// putting a password in the environment (ADMIN_EMAIL + ADMIN_PASSWORD do it at start otherwise).
//
// It reads the server's configuration (DATABASE_URL, DATA_DIR, PUBLIC_URL, ...) and runs the migrations, as a
// start would. Without DATABASE_URL it opens the embedded PostgreSQL under DATA_DIR, which only one process may
// hold: stop the server first. Runs the built server (`npm run create-admin` builds it).
import 'reflect-metadata';

const email = (process.argv[2] ?? '').trim();
if (!/^[^@\s]+@[^@\s]+$/.test(email) || process.argv.length > 3) {
  console.error('Usage: npm run create-admin -- <email>');
  process.exit(2);
}

const dist = (module) => import(new URL(`../server/dist/server/src/${module}`, import.meta.url).href);
const { ConfigError, loadConfig } = await dist('config.js');
const { createLogger } = await dist('log.js');
const { startEmbeddedPostgres } = await dist('db/embeddedPostgres.js');
const { ensureDatabase, openOrm } = await dist('db/orm.js');
const { entities } = await dist('entities.js');
const { Accounts } = await dist('auth/accounts.js');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`create-admin: ${err.message}`);
  process.exit(2);
}
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
let embedded;
let orm;
try {
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    databaseUrl = await ensureDatabase(embedded.url, 'plansync');
  }
  orm = await openOrm(databaseUrl, entities);
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const accounts = new Accounts({
    invitationTtlHours: config.invitationTtlHours,
    passwordMinLength: config.passwordMinLength,
    publicUrl: () => config.publicUrl ?? `http://${host}:${config.port}`,
  });
  const invitation = await accounts.inviteAdmin(orm.em, email);
  console.error(`${email.toLowerCase()} is an admin. Open this link to choose a password (valid until ${invitation.expiresAt.toISOString()}):`);
  console.log(invitation.setPasswordUrl);
} catch (err) {
  console.error(`create-admin failed: ${err.message ?? err}`);
  process.exitCode = 1;
} finally {
  await orm?.close(true).catch(() => undefined);
  await embedded?.stop().catch(() => undefined);
}
