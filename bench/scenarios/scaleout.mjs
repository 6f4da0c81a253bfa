// Scenario 8, scale-out: the grid run with the clients, writers included, split across two Plansync instances
// (one embedded PostgreSQL, one Redis) next to the same load on ONE instance, in the same run. The scenario
// lives in bench/lib/scaleout.mjs, which `npm run bench:two-instances` runs alone too; this is its entry in the
// suite.
import { runScaleout } from '../lib/scaleout.mjs';

/**
 * Measures two Plansync instances of one deployment against one instance under the grid load (what
 * bench/lib/scaleout.mjs's runScaleout returns; `skipped` with the reason when no Redis can be had).
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ options, pause }) {
  return runScaleout({ ...options.scaleout, workers: options.workers, pauseMs: pause });
}
