/**
 * A grid page opened cold (a reload, a bookmark, a link) asks for its data at once, beside the person's profile,
 * instead of one request after another (profile, then the plans and units, then the unit's lines): the page's
 * own queries then find the answers in Apollo's cache, or join the requests still in flight (the client
 * deduplicates identical operations). Nothing else changes: the same operations, normalised in the same cache.
 *
 * The lines and the unit's live document (its websocket) need the plan: the one in the address (`?plan=`), else
 * the one this browser's grid last showed (almost always the plan the page chooses, the latest fiscal year's). A
 * wrong guess costs one unused request and a socket closed when the page opens its own.
 *
 * Kept apart from the grid's chunk (AG Grid, Yjs): main.tsx imports it with the app.
 */
import type { ApolloClient } from '@apollo/client';
import { GridLinesDocument, GridSetupDocument } from '../graphql/generated';

const LAST_PLAN = 'plansync.grid.lastPlan';

/** Remembers the plan the grid shows, for the next cold open's guess. */
export function rememberGridPlan(planId: string): void {
  try {
    localStorage.setItem(LAST_PLAN, planId);
  } catch {
    // Storage full or refused: the next cold open asks in turn instead.
  }
}

/** Starts the grid page's queries when the address is a grid page; failures are the page's to show, not here. */
export function prefetchGrid(client: ApolloClient, token: string, location: Pick<Location, 'pathname' | 'search'> = window.location): void {
  const match = /^\/grid(?:\/([^/]+))?\/?$/.exec(location.pathname);
  if (!match) return;
  void client.query({ query: GridSetupDocument }).catch(() => undefined);
  const unit = match[1] ? decodeURIComponent(match[1]) : null;
  const planId = new URLSearchParams(location.search).get('plan') ?? localStorage.getItem(LAST_PLAN);
  if (!unit || !planId) return;
  void client.query({ query: GridLinesDocument, variables: { planId, unit } }).catch(() => undefined);
  // The unit's document too: its socket connects and syncs while the grid's code loads (Yjs comes in a chunk of
  // its own, before AG Grid's). The page takes it over (useGridDocument.ts).
  import('./useGridDocument').then((m) => m.openEarly(`budget:${planId}:${unit}`, token)).catch(() => undefined);
}
