/**
 * How far V8 lets the old generation grow past what the last full collection kept before it runs the next one.
 *
 * Left to itself, V8 picks a growing factor from how fast it collects against how fast the program allocates:
 * a server whose old generation fills slowly, as Plansync's does while people edit, gets about 1.1 of its live
 * heap. Plansync's live heap is about 45 MB, most of it for good (the code of its libraries, the schema, the ORM's
 * metadata), so a full collection ran each time 5 MB or so of short-lived objects had been promoted: every 30 to
 * 40 s under 50 writers, and each held the main thread for 25 to 45 ms (a final pause plus marking steps), which
 * every grid update arriving meanwhile waited out (issue 16; `--trace-gc` in bench/grid-ab.mjs). Growing by the
 * live heap again (100%) makes them about eight times rarer for some 45 MB more heap between collections; V8's
 * memory reducer still shrinks the heap when the server goes quiet, and V8 still collects sooner as the heap
 * nears its limit.
 *
 * HEAP_GROWTH_PERCENT (config.ts) sets it; 0 leaves V8's own choice. Set by the process (main.ts) at start:
 * V8 reads the flag each time it sets the next limit, so setting it after start takes effect from the next
 * collection.
 */
import v8 from 'node:v8';

export function setHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
