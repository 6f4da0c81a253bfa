/**
 * Relations as resolvers meet them: a loaded entity, an unloaded reference (only its id known), or the plain
 * snapshot an event carries. `loadedRelation` gives back something whose fields can be read, loading it
 * only in the middle case (the identity map makes repeated loads of one row free within a request).
 */
import { wrap, type EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

export function loadedRelation<T extends object>(
  em: EntityManager,
  entity: EntityClass<T>,
  value: T | null | undefined,
): T | null | Promise<T | null> {
  // Synchronous when nothing needs loading: lists resolve this for every row, and a promise per row adds up.
  if (!value) return null;
  if (!(value instanceof entity)) return value; // a plain snapshot: already complete
  if (wrap(value).isInitialized()) return value;
  return em.findOne(entity, wrap(value, true).getPrimaryKey() as never);
}
