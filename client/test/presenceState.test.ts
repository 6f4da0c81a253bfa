/**
 * The web client's own reading of presence (awareness) states, as an attacker would send them: the server
 * vouches for presence too, but a state that reaches the page anyway (an older server, a relay, a bug) must
 * never make React throw or inject styles. Pure function: no browser needed.
 */
import { describe, expect, it } from 'vitest';
import { MAX_CELL, MAX_EMAIL, MAX_NAME, MAX_STATES_READ, othersPresence, readPresence } from '../src/grid/presenceState.js';

const LINE = '3f1c2a9e-0b7d-4c55-9a51-1d2e3f4a5b6c';
const isLine = (id: string) => id === LINE;
const good = { user: { name: 'Sales North Planner', email: 'planner.sales-north@example.com', color: '#3e63dd' }, cell: `${LINE}/budgetAmount` };

describe('reading a presence state from the network', () => {
  it('takes a state our own client sends', () => {
    expect(readPresence(good, isLine)).toEqual(good);
    expect(readPresence({ ...good, cell: null }, isLine)).toEqual({ ...good, cell: null });
  });

  it('drops a state whose name, email or colour is not a plain bounded string (an object name crashed React)', () => {
    const hostile: unknown[] = [
      { ...good, user: { ...good.user, name: { $$typeof: 'react.element', props: {} } } },
      { ...good, user: { ...good.user, name: ['a', 'b'] } },
      { ...good, user: { ...good.user, name: 42 } },
      { ...good, user: { ...good.user, name: '' } },
      { ...good, user: { ...good.user, name: 'x'.repeat(MAX_NAME + 1) } },
      { ...good, user: { ...good.user, name: 'x'.repeat(5_000_000) } },
      { ...good, user: { ...good.user, email: { toString: 'x' } } },
      { ...good, user: { ...good.user, email: `${'a'.repeat(MAX_EMAIL)}@x` } },
      { ...good, user: { ...good.user, email: undefined } },
      { ...good, user: { ...good.user, color: 'red' } },
      { ...good, user: { ...good.user, color: '#3e63dd; background-image: url(https://evil.example/track)' } },
      { ...good, user: { ...good.user, color: 'url(https://evil.example/x.png)' } },
      { ...good, user: { ...good.user, color: '#fff' } },
      { ...good, user: { ...good.user, color: { r: 1 } } },
      { ...good, user: null },
      { ...good, user: 'Mallory' },
      { ...good, user: [good.user] },
      { cell: good.cell },
      null,
      undefined,
      'state',
      7,
      [good],
    ];
    for (const state of hostile) expect(readPresence(state, isLine), JSON.stringify(state)?.slice(0, 120)).toBeNull();
  });

  it('shows the person without a cell when the cell is not an editable cell of this unit', () => {
    const badCells: unknown[] = [
      `${LINE}/variance`,
      `${LINE}/__proto__`,
      `${LINE}/`,
      `/budgetAmount`,
      `other-line/budgetAmount`,
      `${LINE}/budgetAmount/extra`,
      `${LINE}`,
      'x'.repeat(MAX_CELL + 1),
      `${LINE}/budgetAmount${' '.repeat(MAX_CELL)}`,
      { line: LINE, column: 'budgetAmount' },
      42,
      true,
    ];
    for (const cell of badCells) expect(readPresence({ ...good, cell }, isLine), JSON.stringify(cell)).toEqual({ ...good, cell: null });
  });

  it('never throws, whatever the input (getters that throw, proxies)', () => {
    const trap = new Proxy({}, { get: () => { throw new Error('trap'); } });
    const getter = { get user() { throw new Error('getter'); } };
    expect(readPresence(trap, isLine)).toBeNull();
    expect(readPresence(getter, isLine)).toBeNull();
    expect(readPresence({ user: trap }, isLine)).toBeNull();
  });

  it('lists everyone else who can be shown, skipping this client and every hostile state', () => {
    const states = new Map<number, unknown>([
      [1, good],
      [2, { ...good, user: { ...good.user, name: { evil: true } } }],
      [3, { user: { name: 'Me', email: 'me@example.com', color: '#e5484d' }, cell: null }],
      [4, { ...good, user: { ...good.user, email: 'lead@example.com', name: 'Lead' }, cell: `${LINE}/comment` }],
      [5, 'garbage'],
    ]);
    expect(othersPresence(states, 3, isLine)).toEqual([good, { ...good, user: { ...good.user, email: 'lead@example.com', name: 'Lead' }, cell: `${LINE}/comment` }]);
  });

  it('reads a bounded number of states however many are announced (a flood of 300,000 fake people)', () => {
    const flood = new Map<number, unknown>();
    for (let id = 1; id <= 300_000; id++) flood.set(id, { ...good, user: { ...good.user, email: `fake${id}@example.com` } });
    expect(othersPresence(flood, 0, isLine)).toHaveLength(MAX_STATES_READ);
  });
});
