// Before the grid scenarios (grid, fanout, cost, durability): a short grid session on another document
// (FINANCE) against both grid servers at once, so that neither is measured while its code is still being
// compiled; then each server's CPU use with no client at all (Plansync runs timers and job polling; its
// PostgreSQL counted apart), which the durability scenario subtracts. Not a scenario: nothing of it is judged.
import { cpuSample, fmt, log, sleep } from '../lib/common.mjs';
import { gridTarget, runGridScenario } from '../lib/grid.mjs';
import { settle } from './shared.mjs';

/**
 * Warms both grid servers up, then measures them idle.
 * @param {import('./shared.mjs').Suite} suite
 * @returns the document, the writer count, and per server `idle`: { seconds, cpuSeconds, databaseCpuSeconds, rssMb }.
 */
export async function warmUp({ servers, options }) {
  const { quick } = options;
  const target = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'FINANCE' });
  log(`warm-up: 20 writers on ${target.unitCode} against both grid servers...`);
  await Promise.all(
    ['plansync', 'reference'].map((name) => runGridScenario(servers[name], target, 20, { workers: 2, warmupMs: 500, measureMs: quick ? 500 : 2000, drainQuietMs: 250 })),
  );
  await sleep(1500); // Plansync unloads the document 1 s after its last connection left
  await settle(servers.plansync, quick);
  const seconds = quick ? 2 : 5;
  const before = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, cpuSample(s.pid)]));
  await sleep(seconds * 1000);
  const idle = {};
  for (const [k, s] of Object.entries(servers)) {
    const after = cpuSample(s.pid);
    idle[k] = { seconds, cpuSeconds: after.ownSeconds - before[k].ownSeconds, databaseCpuSeconds: k === 'plansync' ? after.childSeconds - before[k].childSeconds : null, rssMb: after.rssMb };
  }
  log(`idle: Plansync ${fmt(idle.plansync.cpuSeconds)} s (+${fmt(idle.plansync.databaseCpuSeconds)} s PostgreSQL), reference ${fmt(idle.reference.cpuSeconds)} s CPU in ${seconds} s`);
  return { document: target.unitCode, writers: 20, idle };
}
