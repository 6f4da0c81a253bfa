/**
 * The grid's reading and showing of amounts, for the values that came out wrong in a QA pass: "-0" typed was stored
 * as -0 (it is not below 0, so every rule let it through) and -0, from any client or the API, was shown as "-0".
 * A later pass: "1.234,56" pasted from a European Excel was stored as 1.23456, and a pasted comment with an invisible
 * control character showed, then vanished as the server refused it. Pure functions: no browser needed.
 */
import { describe, expect, it } from 'vitest';
import { formatAmount, parseAmount, parseCell } from '../src/grid/cells.js';

describe('amounts in the grid', () => {
  it('reads "-0" as the 0 it means, never as -0', () => {
    for (const typed of ['-0', '-0.00', '-0,0']) {
      const parsed = parseAmount(typed);
      expect(parsed.ok).toBe(true);
      expect(Object.is(parsed.ok && parsed.value, 0)).toBe(true);
    }
    expect(parseAmount('-1').ok).toBe(false);
  });

  it('shows -0, and a negative amount that rounds to no cent, as 0', () => {
    expect(formatAmount(-0)).toBe(formatAmount(0));
    expect(formatAmount(-0.001)).toBe(formatAmount(0));
    expect(formatAmount(0)).not.toContain('-');
    expect(formatAmount(-12.5)).toContain('12.5');
    expect(formatAmount(-12.5)).toMatch(/^-/);
  });

  it('reads amounts copied from a European Excel as the amounts they are, whatever the browser language', () => {
    // Both separators: the last one is the decimal point. "1.234,56" was stored as 1.23456.
    for (const decimal of ['.', ',']) {
      const read = (typed: string) => {
        const parsed = parseAmount(typed, decimal);
        return parsed.ok ? parsed.value : parsed.reason;
      };
      expect(read('1.234,56')).toBe(1234.56);
      expect(read(' 1.234.567,5 ')).toBe(1234567.5);
      expect(read('€1.234,5')).toBe(1234.5);
      expect(read('1,234.56')).toBe(1234.56);
      expect(read('1.234.567')).toBe(1234567);
      expect(read('12,34,567')).toBe(1234567);
      expect(read("1'234.50")).toBe(1234.5); // Swiss grouping
      expect(read(' $ -   ')).toBe(0); // Excel's accounting zero
      expect(read('1,5')).toBe(1.5);
      expect(read('0,125')).toBe(0.125);
      expect(read('1.234.56,7')).toMatch(/not a number/);
      expect(read('1,2,3.4')).toMatch(/not a number/);
    }
    // One separator standing as a thousands group: the language decides, as the grid's own figures show it.
    expect(parseAmount('1,234', '.')).toEqual({ ok: true, value: 1234 });
    expect(parseAmount('1.234', '.')).toEqual({ ok: true, value: 1.234 });
    expect(parseAmount('1.234', ',')).toEqual({ ok: true, value: 1234 });
    expect(parseAmount('1,234', ',')).toEqual({ ok: true, value: 1.234 });
    expect(parseAmount('0.125', ',')).toEqual({ ok: true, value: 0.125 });
    // A number (a bulk action's result) is its own value in any language.
    expect(parseCell('budgetAmount', 1234.567)).toEqual({ ok: true, value: 1234.567 });
  });

  it('refuses at once a comment the server would refuse for its invisible characters, and keeps tabs, breaks and any script', () => {
    for (const pasted of ['Q3\u000bcampaign', 'bell\u0007', 'nul\u0000', 'C1 \u0085 next line', 'half \ud83d', 'non \ufffe char', '\uffff']) {
      expect(parseCell('comment', pasted)).toMatchObject({ ok: false, reason: expect.stringMatching(/control characters/) });
    }
    for (const pasted of ['line one\nline two\r\n\tindented', 'שלום 😀 مرحبا', 'x'.repeat(2000)]) {
      expect(parseCell('comment', pasted)).toEqual({ ok: true, value: pasted });
    }
  });
});
