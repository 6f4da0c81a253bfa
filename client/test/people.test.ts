/**
 * The users table's model (client/src/admin/people.ts), without a browser: a person's status (a lock in the
 * past is over), the filters, and the CSV of the rows, where a display name or organisation typed to run as a
 * formula (= + - @, a tab or a carriage return first) arrives in the spreadsheet as plain text.
 */
import { describe, expect, it } from 'vitest';
import { filterPeople, NO_FILTERS, NO_UNIT, peopleCsv, statusOf, type Person } from '../src/admin/people.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const person = (over: Partial<Person>): Person => ({
  id: over.email ?? 'x',
  email: 'someone@example.com',
  displayName: 'Someone',
  role: 'VIEWER',
  kind: 'PERSON',
  entraAppId: null,
  active: true,
  lastSignInAt: null,
  lockedUntil: null,
  totpEnabled: false,
  businessUnits: [],
  organization: null,
  ...over,
});

const ann = person({ email: 'ann@example.com', displayName: 'Ann Analyst', role: 'ANALYST' });
const lee = person({ email: 'lead.finance@example.com', displayName: 'Lee Lead', role: 'BU_LEADER', businessUnits: [{ id: '1', code: 'FINANCE', name: 'Finance' }] });
const gone = person({ email: 'gone@example.com', displayName: 'Gone', active: false, lockedUntil: '2026-12-03T12:10:00Z' });
const locked = person({ email: 'locked@example.com', displayName: 'Locked', lockedUntil: '2026-12-03T12:10:00Z' });
const wasLocked = person({ email: 'was@example.com', displayName: 'Was Locked', lockedUntil: '2026-12-03T11:59:59Z' });
const everyone = [ann, lee, gone, locked, wasLocked];

describe('people', () => {
  it('says deactivated before locked, and a lock that ended is no lock', () => {
    expect([ann, gone, locked, wasLocked].map((p) => statusOf(p, NOW))).toEqual(['ACTIVE', 'DEACTIVATED', 'LOCKED', 'ACTIVE']);
  });

  it('filters by name or email in any case, role, unit (or none) and status, all at once', () => {
    const emails = (filters: Partial<typeof NO_FILTERS>) => filterPeople(everyone, { ...NO_FILTERS, ...filters }, NOW).map((p) => p.email);
    expect(emails({})).toHaveLength(5);
    expect(emails({ search: '  ANN ' })).toEqual(['ann@example.com']);
    expect(emails({ search: 'lead.fin' })).toEqual(['lead.finance@example.com']);
    expect(emails({ role: 'BU_LEADER' })).toEqual(['lead.finance@example.com']);
    expect(emails({ unit: 'FINANCE' })).toEqual(['lead.finance@example.com']);
    expect(emails({ unit: NO_UNIT })).not.toContain('lead.finance@example.com');
    expect(emails({ status: 'LOCKED' })).toEqual(['locked@example.com']);
    expect(emails({ status: 'DEACTIVATED' })).toEqual(['gone@example.com']);
    expect(emails({ status: 'ACTIVE', role: 'ANALYST', search: 'example' })).toEqual(['ann@example.com']);
  });

  it('exports rows whose text would run as a formula as plain text', () => {
    const hostile = ['=1+2', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1'].map((name, i) =>
      person({ email: `p${i}@example.com`, displayName: name, organization: { id: 'o', name: '=cmd|"/c calc"!A1' } }),
    );
    const csv = peopleCsv([...hostile, locked], (role) => (role === 'VIEWER' ? 'Viewer' : role), NOW).replace(/^\uFEFF/, '');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('Name,Email,Role,Kind,Business units,Organisation,Status,Locked until,Last sign-in,Two-factor');
    for (const name of ['=1+2', '+1', '-1', '@SUM(A1)']) expect(csv).toContain(`'${name},`);
    expect(csv).toContain(`'\t=1,`);
    expect(csv).toContain(`"'\r=1"`);
    expect(csv).toContain(`"'=cmd|""/c calc""!A1"`);
    for (const line of lines) expect(line).not.toMatch(/(^|,)"?[=+\-@\t\r]/);
    expect(lines.find((l) => l.includes('locked@example.com'))).toContain('Locked,2026-12-03T12:10:00Z');
  });
});
