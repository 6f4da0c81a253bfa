/**
 * How hard the fuzz suites (`*.fuzz.test.ts`) try: a small budget in `npm test` (it must stay quick), scaled up by
 * `npm run fuzz` (FUZZ_SCALE, default 25 there; any positive number works, e.g. FUZZ_SCALE=200 npm run fuzz).
 * fast-check prints the seed and the shrunk counterexample of a failure; FUZZ_SEED replays one.
 */
export const FUZZ_SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);

/** fast-check parameters for `runs` base runs, scaled. */
export function fuzzParams(runs: number): { numRuns: number; seed?: number } {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
  return { numRuns: Math.ceil(runs * FUZZ_SCALE), ...(seed === undefined ? {} : { seed }) };
}
