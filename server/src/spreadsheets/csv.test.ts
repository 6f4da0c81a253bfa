/**
 * Reading an uploaded CSV a piece at a time (`parseCsvInTurns`): the same records as reading it in one go, other
 * requests served between its pieces, and stopped as soon as it has too many rows. A 10 MB file of tiny rows read in
 * one go held every request of every person for seconds before it was refused for its size (found in a QA pass).
 */
import { describe, expect, it } from 'vitest';
import { MalformedFile, MAX_COLUMNS, parseCsv, parseCsvInTurns } from './csv.js';

describe('parseCsvInTurns', () => {
  it('reads what parseCsv reads, whatever falls on the edge between two pieces', async () => {
    // An emoji, a CRLF, a quoted field with a line break and a doubled quote at every offset around the first edge.
    for (let pad = 16 * 1024 - 40; pad < 16 * 1024 + 5; pad++) {
      const text = `\uFEFFLine id,Comment\r\n${'x'.repeat(pad)},"a 😀 b\r\nc ""d"""\r\n;semi,\u00e9\r\nlast,1`;
      const inTurns = await parseCsvInTurns(text, 100);
      expect(inTurns, `pad ${pad}`).toEqual(parseCsv(text));
      expect(inTurns.rows[1].cells[1]).toBe('a 😀 b\r\nc "d"');
    }
  });

  it('gives the event loop turns while it reads a large file', async () => {
    const text = 'Line id,Budget amount\r\n' + 'x,1\r\n'.repeat(200_000);
    let readingWhenServed: boolean | null = null;
    let reading = true;
    // Queued now: it runs at the event loop's next turn, which a file read in one go would hold back until the end.
    setImmediate(() => (readingWhenServed = reading));
    const parsed = await parseCsvInTurns(text, 1_000_000);
    reading = false;
    expect(parsed.rows).toHaveLength(200_001);
    expect(readingWhenServed).toBe(true);
  });

  it('stops at the first record past the limit, and refuses a malformed file as parseCsv does', async () => {
    await expect(parseCsvInTurns('a\r\n'.repeat(11), 10)).rejects.toThrow(new MalformedFile('The file has more than 10 rows'));
    expect((await parseCsvInTurns('a\r\n'.repeat(10), 10)).rows).toHaveLength(10);
    const wide = `${Array.from({ length: MAX_COLUMNS + 1 }, () => 'c').join(',')}\r\n`;
    await expect(parseCsvInTurns(wide, 10)).rejects.toThrow(/Row 1 has more than 1000 columns/);
    expect(() => parseCsv(wide)).toThrow(/Row 1 has more than 1000 columns/);
  });

  it('builds no error object for rows shorter or longer than the header: blank lines cost what other rows cost', async () => {
    // csv-parse made (and dropped) a CsvError, stack and all, for every row whose length differs from the first
    // row's: a 10 MB file of blank lines under a two-column header took 20 s of a core and held the event loop for
    // up to a second at a time. Counted, not timed: every such error captures its stack once.
    const text = 'Line id,Budget amount\r\n' + '\r\n'.repeat(5_000) + 'x\r\n'.repeat(5_000) + 'x,1,2\r\n'.repeat(5_000);
    // Counted by wrapping the function itself (vitest's spy on it sees no calls from a dependency's code).
    const original = Error.captureStackTrace;
    let captures = 0;
    Error.captureStackTrace = function (...args: Parameters<typeof original>) {
      captures += 1;
      return original.apply(this, args);
    };
    let parsed;
    try {
      parsed = await parseCsvInTurns(text, 1_000_000);
    } finally {
      Error.captureStackTrace = original;
    }
    expect(captures).toBeLessThan(10);
    expect(parsed.rows).toHaveLength(15_001);
    expect(parsed.rows[1].cells).toEqual(['']);
    expect(parsed.rows[5_001].cells).toEqual(['x']);
    expect(parsed.rows[10_001].cells).toEqual(['x', '1', '2']);
    expect(parsed).toEqual(parseCsv(text));
  });
});
