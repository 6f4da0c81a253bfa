/**
 * The grid's reading and showing of amounts, for the values that came out wrong in a QA pass: "-0" typed was stored
 * as -0 (it is not below 0, so every rule let it through) and -0, from any client or the API, was shown as "-0".
 * Pure functions: no browser needed.
 */
import { describe, expect, it } from 'vitest';
import { formatAmount, parseAmount } from '../src/grid/cells.js';

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
});
