/**
 * Several Plansync processes on one database and one Redis, as they run behind a proxy: shared JWT keys (a
 * token from one is good on the other), a Redis channel prefix of their own (so parallel test files never
 * hear each other), each on its own port. Plus a Redis server a test may start and kill, and the check that
 * tells whether a Redis is there at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { eventually } from './gridClients.js';
import { restartableServer, type RestartableServer } from './restartableServer.js';

/** The Redis the two-instance tests use: 127.0.0.1:6379, or TEST_REDIS_URL. */
export const LOCAL_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * Whether a Redis answers PING at `url`. A refused connection answers at once; a silent one is given a few
 * seconds, twice (a test worker busy importing must not mistake its own slowness for a missing Redis).
 */
export async function redisReachable(url: string = LOCAL_REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const attempt = () =>
    new Promise<boolean | 'silent'>((resolve) => {
      const socket = net.connect({ host: hostname, port: Number(port || 6379) });
      const done = (ok: boolean | 'silent') => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(5000, () => done('silent'));
      socket.once('error', () => done(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  for (let i = 0; i < 2; i++) {
    const result = await attempt();
    if (result !== 'silent') return result;
  }
  return false;
}

/** A Redis channel prefix no other test run uses. */
export function testRedisPrefix(): string {
  return `plansync-test-${randomBytes(5).toString('hex')}`;
}

/** An ES256 key pair as environment variables, for instances that must accept each other's tokens. */
export async function sharedJwtEnv(): Promise<Record<string, string>> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { JWT_PRIVATE_KEY: await exportPKCS8(privateKey), JWT_PUBLIC_KEY: await exportSPKI(publicKey) };
}

/**
 * `count` instances on one new, empty database, with REDIS_URL `redisUrl`, one fresh prefix, shared keys and
 * `env`, started all at once as a deployment's replicas are (they migrate and seed it together). The first
 * one owns the database (destroy it last).
 */
export async function startInstances(count: number, redisUrl: string, env: Record<string, string> = {}): Promise<RestartableServer[]> {
  const shared = { REDIS_URL: redisUrl, REDIS_PREFIX: testRedisPrefix(), ...(await sharedJwtEnv()), ...env };
  const first = await restartableServer(shared, { emptyDatabase: true });
  const servers = [first];
  for (let i = 1; i < count; i++) servers.push(await restartableServer(shared, { databaseUrl: first.databaseUrl }));
  const started = await Promise.allSettled(servers.map((s) => s.start()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Leave no process behind: the caller never gets them to destroy.
    await destroyInstances(servers);
    throw failed.reason;
  }
  return servers;
}

/** Stops and removes instances started by startInstances, the database owner last. */
export async function destroyInstances(servers: RestartableServer[]): Promise<void> {
  for (const server of [...servers].reverse()) await server.destroy();
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Whether `redis-server` can be run here. */
export async function redisServerInstalled(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
}

/** A throwaway redis-server of the test's own, on a free port, that the test can kill and start again. */
export interface OwnRedis {
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  return {
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
        stdio: 'ignore',
      });
      await eventually(() => redisReachable(url), `redis-server on port ${port}`);
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
