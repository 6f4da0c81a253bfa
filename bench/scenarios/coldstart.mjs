// Scenario 7, cold start: a fresh DATA_DIR to the first 200 from /healthz (node server/dist/.../main.js, the
// build present), median of 3; the reference, y-websocket's bin/server.js to its first HTTP answer, is the floor
// of any Node server (there is no reference that also brings up a database).
import fsp from 'node:fs/promises';
import { log, median, ratio, started, startPlansync, startReference, stopProcess } from '../lib/common.mjs';

/** Phases of a Plansync start, from its log (pino JSON lines, LOG_LEVEL=info). */
function startupPhases(output, spawnWall) {
  const at = (pattern) => {
    for (const line of output.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line);
        if (pattern.test(entry.msg ?? '')) return Date.parse(entry.time) - spawnWall;
      } catch {}
    }
    return null;
  };
  return {
    initdbStartMs: at(/^initialising embedded PostgreSQL/),
    postgresListeningMs: at(/^embedded PostgreSQL listening/),
    seededMs: at(/^seeded the demo data/),
    listeningMs: at(/^Plansync is listening/),
  };
}

/**
 * Measures Plansync's time from spawn to the first 200 from /healthz on a fresh DATA_DIR, with its phases from
 * its log, per run and as the median; the reference's likewise; and their ratio.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options }) {
  const plansync = [];
  const reference = [];
  // --quick: the suite's own start of Plansync (fresh DATA_DIR too, /healthz polled every 20 ms) is the one run.
  if (options.quick) plansync.push({ readyMs: Math.round(servers.plansync.readyMs), note: "the suite's own Plansync start" });
  for (let i = 0; i < (options.quick ? 0 : options.coldStart.runs); i++) {
    log(`coldstart: Plansync run ${i + 1} (fresh DATA_DIR)...`);
    const spawnWall = Date.now();
    const s = await startPlansync({ name: 'plansync-coldstart', env: { LOG_LEVEL: 'info' }, pollMs: 10 });
    plansync.push({ readyMs: Math.round(s.readyMs), ...startupPhases(s.output(), spawnWall) });
    await stopProcess(s);
    await fsp.rm(s.dataDir, { recursive: true, force: true });
    started.dirs.delete(s.dataDir);
    log(`  ${Math.round(s.readyMs)} ms`);
  }
  for (let i = 0; i < options.coldStart.runs; i++) {
    const s = await startReference({ name: 'reference-coldstart', pollMs: 10 });
    reference.push({ readyMs: Math.round(s.readyMs) });
    await stopProcess(s);
  }
  const p = median(plansync.map((r) => r.readyMs));
  const r = median(reference.map((x) => x.readyMs));
  log(`  Plansync median ${p} ms, reference median ${r} ms`);
  return { runs: options.coldStart.runs, plansync: { medianMs: p, runs: plansync }, reference: { medianMs: r, runs: reference }, ratio: ratio(p, r) };
}
