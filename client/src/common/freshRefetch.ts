/**
 * Refetching a view's query when an event says its data changed, so that what the view shows at the end was read
 * after the last event.
 *
 * Apollo's refetch does not promise that. A refetch made while an earlier request for the same query is on its
 * way joins that request (query deduplication) and gets its answer, read before the change; and when requests
 * do overlap, the earlier one's answer can still be written to the cache after the later one's. Either way the
 * view shows the old state and no further event comes to correct it: the review page did not offer Approve when
 * the review step came to await its decision while the refetch that the resubmission started was on its way.
 *
 * So the refetches of one query never overlap: an event that comes while a request of the query is on its way
 * (a refetch, or the first load) asks for one more, made when it has come back. Many events in that time make
 * one more request, not many.
 */
import type { ObservableQuery } from '@apollo/client';
import { useEffect, useMemo, useRef } from 'react';

export class RefetchQueue {
  private running = false;
  /** Callers of `request` waiting for a refetch that has not started yet; null: none asked for. */
  private waiting: (() => void)[] | null = null;

  /**
   * `refetch` sends the query again; `loading` says whether a request of it is on its way now (the first load
   * included); `idle()` is to be called when that may have changed.
   */
  constructor(private readonly refetch: () => Promise<unknown>, private readonly loading: () => boolean) {}

  /**
   * The data may have changed: read it again, after any request already on its way. Resolves once a refetch
   * made after this call has come back (failed or not: the view shows the query's error).
   */
  request(): Promise<void> {
    return new Promise((resolve) => {
      (this.waiting ??= []).push(resolve);
      this.startIfFree();
    });
  }

  /** Whether a refetch is on its way or asked for. */
  get busy(): boolean {
    return this.running || this.waiting !== null;
  }

  /** A request made elsewhere (the first load) may have come back: make the one asked for meanwhile. */
  idle(): void {
    this.startIfFree();
  }

  private startIfFree(): void {
    if (!this.waiting || this.running || this.loading()) return;
    const waiters = this.waiting;
    this.waiting = null;
    this.running = true;
    this.refetch()
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        for (const done of waiters) done();
        this.startIfFree();
      });
  }
}

/** The refetch to call on a change event, for the query `observable` (useQuery's `observable`). */
export function useFreshRefetch(observable: ObservableQuery<any, any>, loading: boolean): () => Promise<void> {
  const current = useRef(observable);
  current.current = observable;
  const queue = useMemo(
    () => new RefetchQueue(() => current.current.refetch(), () => current.current.getCurrentResult().loading),
    [],
  );
  useEffect(() => {
    if (!loading) queue.idle();
  }, [loading, queue]);
  return useMemo(() => () => queue.request(), [queue]);
}
