/**
 * What every resolver receives: its own EntityManager (one identity map per request, never shared), the
 * viewer (null when no valid token came), and the services.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../policies/viewer.js';
import { unauthenticated } from '../errors.js';
import type { Services } from '../services.js';

export interface GraphQLContext {
  em: EntityManager;
  viewer: Viewer | null;
  services: Services;
  /** The caller's address, for the sign-in log. */
  ip: string | null;
}

/** The signed-in viewer, or UNAUTHENTICATED. */
export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}
