import { describe, expect, it } from 'vitest';
import type { Viewer } from '../policies/viewer.js';
import { SharedViewers } from './sharedViewers.js';

/** A viewer as auth/viewers.ts builds one: a new object, new strings and a new Set every time. */
const viewer = (overrides: Partial<Viewer> = {}): Viewer => ({
  tokenId: 'token-1',
  issuedAtMs: 1,
  userId: ['user', '1'].join('-'),
  email: 'lead@example.com',
  role: 'BU_LEADER',
  unitIds: new Set(['unit-b', 'unit-a']),
  organizationId: null,
  expiresAt: 2_000_000_000,
  ...overrides,
});

describe('shared viewers', () => {
  it('gives connections of the same person on the same token one viewer', () => {
    const shared = new SharedViewers();
    const first = shared.share(viewer(), 'Lead');
    const second = shared.share(viewer({ unitIds: new Set(['unit-a', 'unit-b']) }), 'Lead');
    expect(second).toBe(first);
    expect(shared.size).toBe(1);
  });

  it('never shares between viewers that differ in anything', () => {
    const shared = new SharedViewers();
    const base = shared.share(viewer(), 'Lead');
    for (const [what, other] of [
      ['another token', viewer({ tokenId: 'token-2' })],
      ['another role', viewer({ role: 'VIEWER' })],
      ['other units', viewer({ unitIds: new Set(['unit-a']) })],
      ['another expiry', viewer({ expiresAt: 2_000_000_001 })],
      ['read-only scopes', viewer({ tokenScopes: ['READ'] })],
    ] as const) {
      expect(shared.share(other, 'Lead'), what).not.toBe(base);
    }
    expect(shared.share(viewer(), 'Someone else')).not.toBe(base);
  });
});
