/**
 * The real process lifecycle: the built server (`server/dist/server/src/main.js`, built by `npm test`)
 * runs as a child process with its own embedded PostgreSQL under a temporary DATA_DIR, exactly as
 * `npm start` runs it. Start on a fresh and on an initialised folder, graceful SIGTERM / SIGINT, SIGKILL
 * recovery, one process per folder, bad configuration, SEED_DEMO=false.
 *
 * Everything listens on 127.0.0.1 only. Every child and every postgres started under a test folder is
 * stopped in afterAll, and the folders are removed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serverEntry = path.join(root, 'server/dist/server/src/main.js');
const DEMO_PASSWORD = 'plansync-demo';

/** Environment variables Plansync reads: never inherited from the test run, so the child sees only ours. */
const PLANSYNC_VARS = /^(PORT|HOST|DATA_DIR|DATABASE_URL|TEST_DATABASE_URL|REDIS_URL|JWT_.*|ENTRA_.*|SEED_DEMO|SIMULATE.*|LOG_LEVEL|CLIENT_DIR|LOGIN_LOCKOUT_.*)$/;

interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  dataDir: string;
  /** stdout + stderr so far. */
  output(): string;
  /** The JSON log lines printed on stdout so far. */
  logs(): { msg?: string; [k: string]: unknown }[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
const dataDirs = new Set<string>();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function freshDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-process-'));
  dataDirs.add(dir);
  return dir;
}

/**
 * A DATA_DIR as a first start leaves it (its PostgreSQL initialised, the schema migrated, the demo data seeded, then
 * stopped cleanly): a copy (`cp -a`: postgres's files keep their owner) of one made once per file, for tests of a
 * server that has started before. A first start is the step-by-step block's first test, and SEED_DEMO=false's.
 */
let firstStarted: Promise<string> | undefined;
async function startedBeforeDataDir(): Promise<string> {
  firstStarted ??= (async () => {
    const dir = await freshDataDir();
    await expectCleanStop(await startServer(dir), 'SIGTERM');
    return dir;
  })();
  const original = await firstStarted;
  const dir = await freshDataDir();
  await promisify(execFile)('cp', ['-a', `${original}/.`, dir]);
  return dir;
}

/**
 * `ownGroup`: the server leads a process group of its own, as `npm start` in a terminal is a job of its own: the
 * group a terminal's Ctrl-C (SIGINT) or its closing (SIGHUP) signals as a whole.
 */
async function spawnServer(dataDir: string, env: Record<string, string> = {}, { ownGroup = false } = {}): Promise<ServerProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PLANSYNC_VARS.test(k)));
  const child = spawn(process.execPath, [serverEntry], {
    cwd: root,
    detached: ownGroup,
    env: { ...baseEnv, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => out,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        }),
    exited,
  };
}

/** Polls /healthz until it answers 200; fails at once, with the output, if the process exits first. */
async function waitHealthy(server: ServerProcess, timeoutMs = 45_000): Promise<void> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit) throw new Error(`server exited (${exit.code ?? exit.signal}) before it was healthy:\n${server.output()}`);
    try {
      const res = await fetch(`${server.url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server was not healthy within ${timeoutMs} ms:\n${server.output()}`);
}

async function startServer(dataDir: string, env: Record<string, string> = {}, options: { ownGroup?: boolean } = {}): Promise<ServerProcess> {
  const server = await spawnServer(dataDir, env, options);
  await waitHealthy(server);
  return server;
}

async function exitWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no exit within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopServer(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM') {
  server.child.kill(signal);
  return exitWithin(server.exited, 20_000, `${signal} to pid ${server.child.pid}\n${server.output()}`);
}

/** A process still running (a zombie, exited and waiting to be reaped, counts as gone). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A field of /proc/<pid>/stat after the name (0: state, 1: parent pid, 2: process group); undefined once the
 * process is gone. The name in parentheses may hold spaces: the fields start after its closing parenthesis.
 */
function statField(pid: number, index: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index]);
  } catch {
    return undefined;
  }
}

const parentOf = (pid: number) => statField(pid, 1);
const processGroupOf = (pid: number) => statField(pid, 2);

/**
 * Pids of the postmasters running on `<dataDir>/postgres` (their command line is `postgres -D <dir> ...`).
 * A backend the postmaster has just forked has the same command line until it sets its own title (CI once
 * caught one in that instant): a process whose parent is also on the list is that, not a second postmaster.
 */
function postmastersOf(dataDir: string): number[] {
  const pgDir = path.join(dataDir, 'postgres');
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const d = args.indexOf('-D');
    if (d > 0 && path.basename(args[0]) === 'postgres' && path.resolve(args[d + 1] ?? '') === pgDir && isRunning(Number(entry))) {
      found.push(Number(entry));
    }
  }
  return found.filter((pid) => !found.includes(parentOf(pid) ?? -1));
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid in `<dataDir>/postgres/postmaster.pid`, when the file exists. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postgres/postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Runs SQL on the embedded cluster of `dataDir` (credentials and port as the server remembered them). */
async function sql<T = Record<string, unknown>>(dataDir: string, text: string): Promise<T[]> {
  const password = readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();
  const port = Number(readFileSync(path.join(dataDir, 'postgres.port'), 'utf8').trim());
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'plansync' });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function counts(dataDir: string) {
  const [row] = await sql<{ lines: number; users: number; plans: number; units: number }>(
    dataDir,
    `SELECT (SELECT count(*)::int FROM budget_line) AS lines, (SELECT count(*)::int FROM app_user) AS users,
            (SELECT count(*)::int FROM budget_plan) AS plans, (SELECT count(*)::int FROM business_unit) AS units`,
  );
  return row;
}

async function gql(server: ServerProcess, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string }[] }) };
}

async function login(server: ServerProcess, email = 'admin@example.com', password = DEMO_PASSWORD): Promise<string> {
  const res = await gql(server, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
  if (!res.data?.login?.token) throw new Error(`login ${email} failed: ${JSON.stringify(res.errors)}`);
  return res.data.login.token;
}

const LINES = `query($plan: ID!) { budgetLines(planId: $plan) { id budgetAmount comment version businessUnit { code } } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id budgetAmount comment version } }`;

async function planAndLines(server: ServerProcess, token: string) {
  const plans = await gql(server, '{ budgetPlans { id name } }', {}, token);
  expect(plans.errors).toBeUndefined();
  const planId = plans.data.budgetPlans[0].id as string;
  const lines = await gql(server, LINES, { plan: planId }, token);
  expect(lines.errors).toBeUndefined();
  return { plans: plans.data.budgetPlans, lines: lines.data.budgetLines as { id: string; budgetAmount: number | null; comment: string; version: number }[] };
}

/** After a clean stop: exit 0, no postgres left on the folder, the owner file removed. */
async function expectCleanStop(server: ServerProcess, signal: NodeJS.Signals) {
  const exit = await stopServer(server, signal);
  expect(exit, server.output()).toEqual({ code: 0, signal: null });
  expect(postmastersOf(server.dataDir)).toEqual([]);
  expect(existsSync(path.join(server.dataDir, 'plansync.pid'))).toBe(false);
  expect(existsSync(path.join(server.dataDir, 'postgres/postmaster.pid'))).toBe(false);
  expect(server.logs().map((l) => l.msg)).toContain('stopped');
}

beforeAll(() => {
  if (!existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run \`npm run build -w server\` first`);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dataDirs) {
    const pids = [postmasterPid(dir), ...postmastersOf(dir)].filter((p): p is number => p !== undefined);
    for (const pid of new Set(pids)) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
    await waitUntil(() => pids.every((p) => !isRunning(p)), 15_000, `postgres of ${dir} to stop`).catch(() =>
      pids.forEach((p) => {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }),
    );
    await fs.rm(dir, { recursive: true, force: true });
  }
});

describe('the server process on one DATA_DIR, step by step', () => {
  let dataDir: string;
  let server: ServerProcess;
  let editedLineId: string;
  let secondEditId: string;

  beforeAll(async () => {
    dataDir = await freshDataDir();
  });

  it('on a fresh DATA_DIR: starts its own PostgreSQL, migrates, seeds the demo data and serves', async () => {
    server = await startServer(dataDir);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ database: 'up' });

    const listening = server.logs().find((l) => l.msg === 'Plansync is listening');
    expect(listening).toMatchObject({ embeddedDatabase: true, startupMs: expect.any(Number) });
    expect(server.logs().map((l) => l.msg)).toContain('seeded the demo data');

    // One postgres for the folder, on the remembered port, owned by this process.
    expect(postmastersOf(dataDir)).toEqual([postmasterPid(dataDir)]);
    expect(readFileSync(path.join(dataDir, 'plansync.pid'), 'utf8').trim()).toBe(String(server.child.pid));
    expect(Number(readFileSync(path.join(dataDir, 'postgres.port'), 'utf8'))).toBeGreaterThan(0);

    const admin = await login(server);
    const { plans, lines } = await planAndLines(server, admin);
    expect(plans).toHaveLength(1);
    expect(lines).toHaveLength(600);
    const units = await gql(server, '{ businessUnits { code } }', {}, admin);
    expect(units.data.businessUnits).toHaveLength(5);
    expect(await counts(dataDir)).toEqual({ lines: 600, users: 18, plans: 1, units: 5 });

    editedLineId = lines[7].id;
    const edit = await gql(server, UPDATE, { id: editedLineId, input: { budgetAmount: 4242.5, comment: 'before restart' } }, admin);
    expect(edit.errors).toBeUndefined();
    expect(edit.data.updateBudgetLine).toMatchObject({ budgetAmount: 4242.5, comment: 'before restart', version: 2 });
  });

  it('stops gracefully on SIGTERM: exit 0, its PostgreSQL stopped, plansync.pid removed', async () => {
    const pgPid = postmasterPid(dataDir)!;
    await expectCleanStop(server, 'SIGTERM');
    expect(isRunning(pgPid)).toBe(false);
  });

  it('restarts on the same DATA_DIR with the data kept and nothing seeded twice', async () => {
    server = await startServer(dataDir);
    expect(server.logs().map((l) => l.msg)).not.toContain('seeded the demo data');
    expect(server.logs().some((l) => String(l.msg).startsWith('initialising'))).toBe(false);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const admin = await login(server);
    const { plans, lines } = await planAndLines(server, admin);
    expect(plans).toHaveLength(1);
    expect(lines).toHaveLength(600);
    expect(lines.find((l) => l.id === editedLineId)).toMatchObject({ budgetAmount: 4242.5, comment: 'before restart', version: 2 });
    expect(await counts(dataDir)).toEqual({ lines: 600, users: 18, plans: 1, units: 5 });
  });

  it('refuses a second process on the same DATA_DIR while the first runs, and the first keeps working', async () => {
    const pgPid = postmasterPid(dataDir);
    const second = await spawnServer(dataDir);
    const exit = await exitWithin(second.exited, 30_000, 'second process');
    expect(exit.code, second.output()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.output()).toContain(`Another Plansync process (pid ${server.child.pid}) is using ${dataDir}`);

    // The first one still owns the folder and its database.
    expect(readFileSync(path.join(dataDir, 'plansync.pid'), 'utf8').trim()).toBe(String(server.child.pid));
    expect(postmasterPid(dataDir)).toBe(pgPid);
    expect(postmastersOf(dataDir)).toEqual([pgPid]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const admin = await login(server);
    expect((await planAndLines(server, admin)).lines).toHaveLength(600);
  });

  it('stops gracefully on SIGINT as well', async () => {
    await expectCleanStop(server, 'SIGINT');
  });

  it('after a SIGKILL, the next start stops the PostgreSQL left running and starts normally', async () => {
    server = await startServer(dataDir);
    const admin = await login(server);
    secondEditId = (await planAndLines(server, admin)).lines[42].id;
    const edit = await gql(server, UPDATE, { id: secondEditId, input: { comment: 'before SIGKILL' } }, admin);
    expect(edit.errors).toBeUndefined();

    const orphan = postmasterPid(dataDir)!;
    server.child.kill('SIGKILL');
    expect(await exitWithin(server.exited, 10_000, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // Its postgres lives on, holding the folder.
    expect(isRunning(orphan)).toBe(true);
    expect(postmastersOf(dataDir)).toEqual([orphan]);

    server = await startServer(dataDir);
    expect(server.logs().some((l) => String(l.msg).includes(`(pid ${orphan}) was left running`))).toBe(true);
    expect(isRunning(orphan)).toBe(false);
    const current = postmasterPid(dataDir)!;
    expect(current).not.toBe(orphan);
    expect(postmastersOf(dataDir)).toEqual([current]);

    const { lines } = await planAndLines(server, await login(server));
    expect(lines).toHaveLength(600);
    expect(lines.find((l) => l.id === editedLineId)).toMatchObject({ budgetAmount: 4242.5, comment: 'before restart' });
    expect(lines.find((l) => l.id === secondEditId)).toMatchObject({ comment: 'before SIGKILL' });
    expect(await counts(dataDir)).toEqual({ lines: 600, users: 18, plans: 1, units: 5 });
  });

  it('starts its PostgreSQL again when it dies on its own, and serves again without a restart of its own', async () => {
    const dead = postmasterPid(dataDir)!;
    // A crash, or the kernel's OOM killer. Before: nothing started it again, and every request needing the
    // database failed until someone restarted Plansync by hand.
    process.kill(dead, 'SIGKILL');
    await waitUntil(() => !isRunning(dead), 15_000, 'postgres to die');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await waitUntil(() => server.logs().some((l) => String(l.msg).startsWith('embedded PostgreSQL running again')), 60_000, 'postgres to run again');
    expect(server.logs().some((l) => String(l.msg) === 'embedded PostgreSQL exited on its own (SIGKILL); starting it again')).toBe(true);
    const again = postmasterPid(dataDir)!;
    expect(again).not.toBe(dead);
    expect(postmastersOf(dataDir)).toEqual([again]);
    // The server's connections recover by themselves: ready, signing in, reading and writing.
    await waitUntil(async () => (await fetch(`${server.url}/readyz`)).status === 200, 30_000, '/readyz');
    const admin = await login(server);
    const { lines } = await planAndLines(server, admin);
    expect(lines.find((l) => l.id === secondEditId)).toMatchObject({ comment: 'before SIGKILL' });
    const edit = await gql(server, UPDATE, { id: secondEditId, input: { comment: 'after the crash' } }, admin);
    expect(edit.errors).toBeUndefined();
    // The connections lost meanwhile are logged, but not pg's whole client object that pg-pool hangs on the error
    // (some 6 KB a line, repeated while the database is away: its last query's text, the backend's cancel key).
    const lost = server.logs().filter((l) => /pg-boss connection error/.test(String(l.msg)));
    expect(lost.length, server.output()).toBeGreaterThan(0);
    for (const line of lost) expect(JSON.stringify(line)).not.toMatch(/secretKey|_queryQueue|connectionParameters/);
  });

  it('does not start its PostgreSQL again when postgres is stopped in the same instant as itself, and still shuts down cleanly', async () => {
    // As when someone signals both (postgres runs in a process group of its own: a terminal's Ctrl-C no longer
    // reaches it, see the next block): postgres stops at once, and must stay stopped.
    const pgPid = postmasterPid(dataDir)!;
    const restarts = () => server.logs().filter((l) => String(l.msg).includes('starting it again')).length;
    const before = restarts();
    process.kill(pgPid, 'SIGINT');
    await expectCleanStop(server, 'SIGINT');
    expect(isRunning(pgPid)).toBe(false);
    expect(restarts()).toBe(before);
  });
});

/**
 * A start refused with one line `Plansync cannot start: <message>` and exit code 2, before it touched its folder,
 * and without repeating `secret` (a key, a password in a URL).
 */
async function expectRefusedAtStart(env: Record<string, string>, message: string, secret: string): Promise<void> {
  const dataDir = await freshDataDir();
  const server = await spawnServer(dataDir, env);
  const exit = await exitWithin(server.exited, 15_000, message);
  expect(exit, server.output()).toEqual({ code: 2, signal: null });
  expect(server.output()).toContain(`Plansync cannot start: ${message}`);
  expect(server.output()).not.toContain(secret);
  expect(readdirSync(dataDir)).toEqual([]);
}

describe('a terminal: Ctrl-C and closing it', () => {
  /** Every log line at error level or above (pino: 50 and up). */
  const errorsIn = (server: ServerProcess) => server.logs().filter((l) => Number(l.level) >= 50);

  it('Ctrl-C (SIGINT to the whole process group) reaches Plansync alone: the request in flight finishes, then PostgreSQL stops, last', async () => {
    const dataDir = await startedBeforeDataDir();
    const server = await startServer(dataDir, {}, { ownGroup: true });
    const pgPid = postmasterPid(dataDir)!;
    // Not in the server's group, which the terminal signals.
    expect(processGroupOf(server.child.pid!)).toBe(server.child.pid);
    expect(processGroupOf(pgPid)).not.toBe(server.child.pid);

    const admin = await login(server);
    const { lines } = await planAndLines(server, admin);
    // A client editing line after line, as fast as it is answered; Ctrl-C once it has made ten edits, so that
    // one of its requests is in flight when the signal comes.
    const answers: { errors?: unknown; data?: unknown }[] = [];
    let refused: unknown;
    const editing = (async () => {
      for (let i = 0; ; i++) {
        let answer;
        try {
          answer = await gql(server, UPDATE, { id: lines[i % lines.length].id, input: { comment: `edit ${i}` } }, admin);
        } catch (err) {
          refused = err; // the server has stopped taking connections
          return;
        }
        answers.push(answer);
        if (answers.length === 10) process.kill(-server.child.pid!, 'SIGINT');
      }
    })();
    const exit = await exitWithin(server.exited, 30_000, `Ctrl-C\n${server.output()}`);
    await editing;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(refused).toBeDefined();
    // Every request the server answered, it answered fully: none met a database that was going away.
    expect(answers.length).toBeGreaterThanOrEqual(10);
    for (const answer of answers) expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
    expect(errorsIn(server), server.output()).toEqual([]);
    expect(isRunning(pgPid)).toBe(false);
    expect(postmastersOf(dataDir)).toEqual([]);
    expect(server.logs().map((l) => l.msg)).toContain('stopped');

    // And what it answered is there after a restart.
    const again = await startServer(dataDir);
    const token = await login(again);
    const after = (await planAndLines(again, token)).lines;
    const last = answers.length - 1;
    expect(after.find((l) => l.id === lines[last % lines.length].id)?.comment).toBe(`edit ${last}`);
    await expectCleanStop(again, 'SIGTERM');
  });

  it('closing the terminal (SIGHUP to the whole process group) stops it as cleanly, its PostgreSQL too', async () => {
    // Node's default for SIGHUP is to exit at once: the database was left running, for the next start to clean up.
    const dataDir = await startedBeforeDataDir();
    const server = await startServer(dataDir, {}, { ownGroup: true });
    const pgPid = postmasterPid(dataDir)!;
    process.kill(-server.child.pid!, 'SIGHUP');
    const exit = await exitWithin(server.exited, 30_000, `SIGHUP\n${server.output()}`);
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(errorsIn(server), server.output()).toEqual([]);
    await waitUntil(() => !isRunning(pgPid), 10_000, 'postgres to stop');
    expect(postmastersOf(dataDir)).toEqual([]);
    expect(existsSync(path.join(dataDir, 'plansync.pid'))).toBe(false);
  });

  it('one Ctrl-C that arrives twice (as under `npm start`: from the terminal, and passed on by npm) is one: a clean stop', async () => {
    const dataDir = await startedBeforeDataDir();
    const server = await startServer(dataDir, {}, { ownGroup: true });
    process.kill(-server.child.pid!, 'SIGINT');
    server.child.kill('SIGINT');
    const exit = await exitWithin(server.exited, 30_000, `doubled Ctrl-C\n${server.output()}`);
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(server.logs().map((l) => l.msg)).not.toContain('second signal: exiting now');
    expect(server.logs().map((l) => l.msg)).toContain('stopped');
    expect(postmastersOf(dataDir)).toEqual([]);
  });

  it('a process that exits without stopping its embedded PostgreSQL (a fatal error, a second Ctrl-C) tells it to stop on its way out', async () => {
    const dataDir = await startedBeforeDataDir();
    const module = path.join(root, 'server/dist/server/src/db/embeddedPostgres.js');
    const script = `const { startEmbeddedPostgres } = await import(${JSON.stringify(module)});
      const log = { info() {}, warn: console.error, error: console.error };
      await startEmbeddedPostgres(${JSON.stringify(dataDir)}, log);
      console.log('started');
      process.exit(1);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (out += chunk));
    const exit = await exitWithin(new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))), 60_000, 'the script');
    children.delete(child);
    expect(out).toContain('started');
    expect(exit, out).toBe(1);
    await waitUntil(() => postmastersOf(dataDir).length === 0, 15_000, `postgres to stop\n${out}`);
    expect(existsSync(path.join(dataDir, 'postgres/postmaster.pid'))).toBe(false);
  });
});

describe('configuration and seeding', () => {
  it.each([
    ['PORT', 'abc'],
    ['SEED_DEMO', 'maybe'],
    ['HEAP_GROWTH_PERCENT', '500'],
    // Node refuses such a port only once the database is started, migrated and seeded, with a stack trace.
    ['PORT', '70000'],
    // pino threw on an unknown level before the first log line: a stack trace naming no setting.
    ['LOG_LEVEL', 'verbose'],
  ])('exits with code 2 and names the variable when %s=%s', async (name, value) => {
    const dataDir = await freshDataDir();
    const server = await spawnServer(dataDir, { [name]: value });
    const exit = await exitWithin(server.exited, 15_000, `${name}=${value}`);
    expect(exit, server.output()).toEqual({ code: 2, signal: null });
    expect(server.output()).toContain(`Plansync cannot start: ${name} must be`);
    expect(server.output()).toContain(`"${value}"`);
    // It stopped before touching the folder.
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('exits with code 2 when JWT_PUBLIC_KEY is not the public half of JWT_PRIVATE_KEY, or a key is unreadable', async () => {
    // Such a server used to start, and then answer every sign-in with INTERNAL_SERVER_ERROR.
    const pair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const [one, other] = [pair(), pair()];
    const privatePem = one.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: [Record<string, string>, string][] = [
      [{ JWT_PRIVATE_KEY: privatePem, JWT_PUBLIC_KEY: other.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, 'JWT_PUBLIC_KEY is not the public half of JWT_PRIVATE_KEY'],
      [{ JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----', JWT_PUBLIC_KEY: one.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, 'JWT_PRIVATE_KEY cannot be read'],
      [{ JWT_PRIVATE_KEY: privatePem }, 'JWT_PRIVATE_KEY and JWT_PUBLIC_KEY go together'],
    ];
    for (const [env, message] of cases) await expectRefusedAtStart(env, message, 'PRIVATE KEY-----');
  });

  it('exits with code 2 and one line naming the setting for a DATABASE_URL that is not PostgreSQL\'s (never repeating it) or a DATA_DIR that is a file', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ DATABASE_URL: 'mysql://root:s3cret-word@127.0.0.1:3306/plansync' }, 'DATABASE_URL must be a URL starting with postgres:// or postgresql:// (e.g. postgres://user:password@host:5432/database), not mysql://'],
      [{ DATABASE_URL: 'host=127.0.0.1 password=s3cret-word' }, 'DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    ];
    for (const [env, message] of cases) await expectRefusedAtStart(env, message, 's3cret-word');
    const file = path.join(await freshDataDir(), 'not-a-folder');
    await fs.writeFile(file, 'x');
    const server = await spawnServer(file);
    const exit = await exitWithin(server.exited, 15_000, 'DATA_DIR a file');
    expect(exit, server.output()).toEqual({ code: 2, signal: null });
    expect(server.output()).toContain(`Plansync cannot start: DATA_DIR must be a folder, and "${file}" is a file`);
  });

  it('exits with code 2 and one line naming PORT when another process listens there', async () => {
    const other = net.createServer();
    const port = await new Promise<number>((resolve) => other.listen(0, '127.0.0.1', () => resolve((other.address() as net.AddressInfo).port)));
    try {
      const dataDir = await startedBeforeDataDir();
      const server = await spawnServer(dataDir, { PORT: String(port) });
      const exit = await exitWithin(server.exited, 120_000, 'PORT in use');
      expect(exit, server.output()).toEqual({ code: 2, signal: null });
      expect(server.output()).toContain(`Plansync cannot start: PORT ${port} on 127.0.0.1 is in use by another process`);
      // Its embedded PostgreSQL was stopped on the way out.
      expect(postmastersOf(dataDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('SEED_DEMO=false on a fresh DATA_DIR starts with an empty database', async () => {
    const dataDir = await freshDataDir();
    const server = await startServer(dataDir, { SEED_DEMO: 'false' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(server.logs().map((l) => l.msg)).not.toContain('seeded the demo data');
    // Migrated, but empty: no units, no users, so nobody can sign in.
    expect(await counts(dataDir)).toEqual({ lines: 0, users: 0, plans: 0, units: 0 });
    const res = await gql(server, 'mutation { login(email: "admin@example.com", password: "plansync-demo") { token } }');
    expect(res.data?.login?.token).toBeUndefined();
    expect(res.errors?.length).toBeGreaterThan(0);
    await expectCleanStop(server, 'SIGTERM');
  });
});
