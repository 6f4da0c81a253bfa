/**
 * One object for equal viewers: the grid connections of one person on one token (their tabs, a reconnect, the
 * thousand clients of a load test) share a Viewer and its strings instead of holding a copy each.
 *
 * A viewer is built per connection from the token and the person's row (auth/viewers.ts): its id, email, role
 * and units are new strings and a new Set every time, about 0.4 KB, which was a tenth of what an idle connection
 * held (issue 16). Viewers are values (never changed once built: a change of rights builds a new one), so equal
 * ones can be one. Kept weakly: a viewer no connection holds any more is collected, and its entry with it.
 */
import type { Viewer } from '../policies/viewer.js';

/** A viewer and the name others see next to its cursor, as connections hold them. */
export interface SharedIdentity {
  readonly viewer: Viewer;
  readonly displayName: string;
}

/** Every field of the viewer, its units sorted, and the display name: equal keys, equal identities. */
function keyOf(viewer: Viewer, displayName: string): string {
  const fields = JSON.stringify(viewer, (_key, value: unknown) => (value instanceof Set ? [...value].sort() : value));
  return `${fields}\u0000${displayName}`;
}

export class SharedViewers {
  private readonly held = new Map<string, WeakRef<SharedIdentity>>();
  private readonly forget = new FinalizationRegistry<string>((key) => {
    if (this.held.get(key)?.deref() === undefined) this.held.delete(key);
  });

  /** The identity equal to this one that connections already hold, or this one, held from now on. */
  share(viewer: Viewer, displayName: string): SharedIdentity {
    const key = keyOf(viewer, displayName);
    const existing = this.held.get(key)?.deref();
    if (existing) return existing;
    const identity: SharedIdentity = { viewer, displayName };
    this.held.set(key, new WeakRef(identity));
    this.forget.register(identity, key);
    return identity;
  }

  /** How many identities are held (for tests). */
  get size(): number {
    return this.held.size;
  }
}
