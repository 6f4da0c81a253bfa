// Forked load processes, spoken to over IPC: request/reply by message type, cleanup through `started`.
import { fork } from 'node:child_process';
import path from 'node:path';
import { benchDir, deadline, root, started } from './common.mjs';

/** Forks bench/<script>; `execArgv` e.g. ['--cpu-prof', ...]. */
export function startWorker(script, { execArgv = [] } = {}) {
  const child = fork(path.join(benchDir, script), [], { cwd: root, execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const worker = { child, waiting: new Map(), gone: false };
  child.on('message', (message) => {
    const waiter = worker.waiting.get(message.type);
    if (waiter) {
      worker.waiting.delete(message.type);
      waiter.resolve(message);
    }
  });
  child.once('exit', (code, signal) => {
    worker.gone = true;
    started.workers.delete(worker);
    for (const waiter of worker.waiting.values()) waiter.reject(new Error(`load worker ${script} exited (${code ?? signal})`));
    worker.waiting.clear();
  });
  worker.request = (message, replyType, timeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      if (worker.gone) return reject(new Error('load worker is gone'));
      const timer = setTimeout(() => {
        worker.waiting.delete(replyType);
        reject(new Error(`load worker ${script} did not answer "${message.type}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      worker.waiting.set(replyType, {
        resolve: (m) => {
          clearTimeout(timer);
          if (m.error) reject(new Error(`load worker ${script}: ${m.error}`));
          else resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send(message);
    });
  worker.send = (message) => {
    if (!worker.gone) child.send(message);
  };
  started.workers.add(worker);
  return worker;
}

export async function stopWorkers(workers) {
  for (const w of workers) w.send({ type: 'close' });
  await Promise.race([Promise.all(workers.map((w) => (w.gone ? null : new Promise((r) => w.child.once('exit', r))))), deadline(5000)]);
  for (const w of workers) if (!w.gone) w.child.kill('SIGKILL');
}

/** Splits `count` items over `parts` as evenly as possible: the sizes. */
export const split = (count, parts) => Array.from({ length: parts }, (_, i) => Math.floor(count / parts) + (i < count % parts ? 1 : 0));
