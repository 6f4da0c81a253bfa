/** Events cross instances as JSON: Dates must come back as Dates, and nothing else may change. */
import { describe, expect, it } from 'vitest';
import { deserializeEvent, serializeEvent } from './eventBus.js';

describe('event serialisation between instances', () => {
  it('brings Dates back as Dates, at any depth, and leaves everything else alone', () => {
    const event = {
      planId: 'p',
      line: { updatedAt: new Date('2026-11-21T06:00:00.123Z'), updatedBy: null, comment: '2026-11-21T06:00:00.123Z', budgetAmount: 0 },
      submission: { submittedAt: new Date(0), submittedBy: { email: 'a@b' } },
      execution: { createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-02T00:00:00Z') },
      lookalike: { $date: 'not a date on its own', other: 1 },
      list: [new Date('2026-03-04T05:06:07Z'), 'x'],
    };
    const back = deserializeEvent(serializeEvent(event)) as typeof event;
    expect(back).toEqual(event);
    expect(back.line.updatedAt).toBeInstanceOf(Date);
    expect(back.submission.submittedAt).toBeInstanceOf(Date);
    expect(typeof back.line.comment).toBe('string');
    expect(back.list[0]).toBeInstanceOf(Date);
  });
});
