/**
 * The topics every live transport follows, whatever the capability: a person's access changed, a token was
 * ended, the cluster link came back. The directory and auth publish the first two, the bus itself the third
 * (realtime/eventBus.ts); the grid server and the GraphQL websocket close or re-check sockets on them (and the
 * catch-ups of budget and workflow events follow the third too). They live here, below the capabilities, so
 * that transports follow them without importing the capabilities that publish them.
 */
import type { ResyncReason } from './redisLink.js';

/** A person's role, units or organisation changed: their open sockets must not keep the old rights. */
export interface UserAccessChangedEvent {
  userId: string;
}

/**
 * Tokens were ended before their expiry: sockets opened with them close as an expired token's would
 * (CloseCode.Unauthorized). One token (`signOut`: `tokenId`), or, without `tokenId`, any number of the person's
 * (a password change or reset, a deactivation, a deletion): then each of their sockets re-reads its viewer and
 * closes when its token names nobody any more.
 */
export interface TokensRevokedEvent {
  userId: string;
  /** The token's id (Viewer.tokenId); absent when the person's tokens were ended wholesale. */
  tokenId?: string;
}

/** Redis came back after an outage ('reconnected'), or is still away ('degraded'): catch up from PostgreSQL. */
export interface ClusterResyncEvent {
  reason: ResyncReason;
}

/** Delivered by the bus itself, on this instance only (realtime/eventBus.ts). */
export const CLUSTER_RESYNC = 'CLUSTER_RESYNC';

export type SessionTopics = {
  USER_ACCESS_CHANGED: UserAccessChangedEvent;
  TOKENS_REVOKED: TokensRevokedEvent;
  /** Local: see ClusterResyncEvent. */
  [CLUSTER_RESYNC]: ClusterResyncEvent;
};

/** The session topics other instances receive. */
export const SESSION_CLUSTER_TOPICS = ['USER_ACCESS_CHANGED', 'TOKENS_REVOKED'] as const satisfies readonly (keyof SessionTopics)[];
