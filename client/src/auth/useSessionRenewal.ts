/**
 * Keeps a working person signed in: a quarter of the token's lifetime before it ends (at most 30 minutes
 * before), if they used the page lately, the token is swapped for a renewed one (`renewSession`). Someone who
 * left the tab alone is not renewed and is signed out at expiry as before; the server ends every session
 * SESSION_MAX_HOURS after its sign-in whatever happens here.
 *
 * Why activity and not a plain timer: renewing an unattended tab forever would turn an eight-hour token into
 * one that never ends on a shared or stolen machine. "Lately" is the same quarter of the lifetime (at most 15
 * minutes): at the default 8 hours, someone who typed in the last 15 minutes.
 */
import { useEffect, useRef } from 'react';
import { renewSessionToken, type Session } from './session';

const MAX_LEAD_MS = 30 * 60_000;
const MAX_IDLE_MS = 15 * 60_000;
/** After a failed attempt (offline), the next activity tries again no sooner than this. */
const RETRY_MS = 30_000;
const ACTIVITY_EVENTS = ['keydown', 'pointerdown', 'wheel', 'input'] as const;

export function renewalPlan(session: Session): { dueAt: number; idleLimitMs: number } {
  const lifetime = Math.max(0, session.expiresAt - session.issuedAt);
  return { dueAt: session.expiresAt - Math.min(MAX_LEAD_MS, lifetime / 4), idleLimitMs: Math.min(MAX_IDLE_MS, lifetime / 4) };
}

export function useSessionRenewal(session: Session | null, onRenewed: (token: string) => void): void {
  const lastActivity = useRef(Date.now());
  const renewed = useRef(onRenewed);
  renewed.current = onRenewed;

  useEffect(() => {
    if (!session) return;
    const { dueAt, idleLimitMs } = renewalPlan(session);
    let stopped = false;
    let inFlight = false;
    let refused = false;
    let nextTryAt = dueAt;

    const attempt = async () => {
      const now = Date.now();
      if (stopped || inFlight || refused || now < nextTryAt || now >= session.expiresAt) return;
      if (now - lastActivity.current > idleLimitMs) return; // left alone: wait for them to come back
      inFlight = true;
      const result = await renewSessionToken(session.token);
      inFlight = false;
      if (stopped) return;
      if (typeof result === 'string') renewed.current(result);
      else if (result === null) refused = true; // the session's limit: sign in again at expiry
      else nextTryAt = Date.now() + RETRY_MS;
    };
    const onActivity = () => {
      lastActivity.current = Date.now();
      void attempt();
    };
    for (const type of ACTIVITY_EVENTS) window.addEventListener(type, onActivity, { capture: true, passive: true });
    const timer = setTimeout(() => void attempt(), Math.max(0, dueAt - Date.now()));
    return () => {
      stopped = true;
      clearTimeout(timer);
      for (const type of ACTIVITY_EVENTS) window.removeEventListener(type, onActivity, { capture: true });
    };
  }, [session]);
}
