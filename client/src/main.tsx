/**
 * Plansync's web client: sign-in, then the budget grid, the workflow monitor and the admin views.
 * The session survives a reload (localStorage), is renewed while the person works (auth/useSessionRenewal.ts),
 * and ends on sign-out, on expiry, or when the server refuses the token, which brings the person back to the
 * sign-in page.
 */
import { StrictMode, useCallback, useEffect, useMemo, useRef, useState, lazy, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { ApolloProvider } from '@apollo/client/react';
import { useQuery } from '@apollo/client/react';
import { BrowserRouter, useLocation, useNavigate } from 'react-router';
import { createApollo } from './apollo';
import { SessionContext } from './auth/MeContext';
import { clearSession, endTokenOnServer, loadSession, saveSession, type Session, type SignOutReason } from './auth/session';
import { SignInPage } from './auth/SignInPage';
import { useSessionRenewal } from './auth/useSessionRenewal';
import { SetPasswordPage } from './auth/SetPasswordPage';
import { MeDocument } from './graphql/generated';
import { prefetchGrid } from './grid/prefetch';
import { Shell } from './layout/Shell';
import { ErrorBoundary } from './common/ErrorBoundary';
import { ErrorMessage, Loading } from './common/Status';
import './styles.css';

// A view's chunk that does not load (a deploy since this tab opened removed the old hashed files: /assets/ answers
// 404 for them) reloads the page onto the new build, at most once a minute so that a chunk really missing from the
// deploy shows its error instead of reloading in a loop.
const RELOADED_AT = 'plansync.reloadedForNewBuild';
window.addEventListener('vite:preloadError', (event) => {
  const last = Number(sessionStorage.getItem(RELOADED_AT) ?? 0);
  if (Date.now() - last < 60_000) return;
  event.preventDefault();
  sessionStorage.setItem(RELOADED_AT, String(Date.now()));
  window.location.reload();
});

// A grid page opened by its address (a bookmark, a link, a reload) starts loading the grid's chunks (AG Grid is most
// of the download) with the app, not after the profile query and the shell: the same import as Shell's lazy one.
// (A failure here shows where the view is rendered.)
if (window.location.pathname.startsWith('/grid') && loadSession()) import('./grid/GridPage').catch(() => undefined);

// Only people who must enrol in two-factor sign-in see it, and it brings the QR code library: loaded then.
const TotpEnrollmentRequiredPage = lazy(() => import('./auth/AccountPage').then((m) => ({ default: m.TotpEnrollmentRequiredPage })));

function SignedIn({ session, signOut }: { session: Session; signOut: (reason: SignOutReason) => void }) {
  // The server refusing the token at (or after) its expiry is the session ending, not something wrong.
  const expiresAt = useRef(session.expiresAt);
  expiresAt.current = session.expiresAt;
  const onRejected = useCallback(() => signOut(expiresAt.current <= Date.now() + 5000 ? 'expired' : 'rejected'), [signOut]);
  // One client for the whole session: a renewed token is handed to it, nothing is remounted or refetched.
  const firstToken = useRef(session.token);
  const apollo = useMemo(() => createApollo(firstToken.current, onRejected), [onRejected]);
  useEffect(() => apollo.dispose, [apollo]);
  // A grid page opened by its address asks for its plans, units, lines and document now, beside the profile
  // (grid/prefetch.ts), rather than one after another.
  useEffect(() => prefetchGrid(apollo.client, firstToken.current), [apollo]);
  useEffect(() => apollo.setToken(session.token), [apollo, session.token]);
  return (
    <ApolloProvider client={apollo.client}>
      <LoadMe session={session} signOut={() => signOut('signed-out')} rejected={onRejected} />
    </ApolloProvider>
  );
}

function LoadMe({ session, signOut, rejected }: { session: Session; signOut: () => void; rejected: () => void }) {
  const { data, error } = useQuery(MeDocument);
  if (error) return <ErrorMessage error={error} />;
  if (!data) return <Loading what="your profile" />;
  return (
    <SessionContext.Provider value={{ me: data.me, token: session.token, signOut, rejected }}>
      {/* REQUIRE_TOTP_ROLES: until they enrol, the server answers nothing else for them; once on, Me is refetched. */}
      {data.me.totpEnrollmentRequired ? (
        <Suspense fallback={<Loading what="two-factor set-up" />}>
          <TotpEnrollmentRequiredPage />
        </Suspense>
      ) : (
        <Shell />
      )}
    </SessionContext.Provider>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [reason, setReason] = useState<SignOutReason | null>(null);
  const location = useLocation();
  const navigate = useNavigate();
  // The session this tab is in, cleared the moment it ends: ending it closes its sockets on the server
  // (CloseCode.Unauthorized), and those closes, reported after a sign-out, must not replace "signed out" by
  // "no longer valid" (nor end it twice).
  const live = useRef(session);
  useEffect(() => {
    live.current = session;
  }, [session]);
  const signOut = useCallback((why: SignOutReason) => {
    if (!live.current) return;
    live.current = null;
    // Signing out on purpose ends the token on the server too; an expired or refused one is over already.
    const current = why === 'signed-out' ? loadSession() : null;
    if (current) endTokenOnServer(current.token);
    // Grid copies kept for offline work stay through an expiry (signing in again brings the edits back), not
    // through a sign-out or a refused token (deactivated, signed out elsewhere): no budget left on the machine.
    // Imported here: y-indexeddb and Yjs come with the grid, not with the sign-in page.
    if (why !== 'expired') void import('./grid/useLocalCopy').then((m) => m.clearLocalCopies());
    clearSession();
    setSession(null);
    setReason(why);
  }, []);

  // Someone at work is not sent to sign in mid-edit: their token is renewed before it ends.
  useSessionRenewal(session, useCallback((token: string) => setSession(saveSession(token)), []));

  // An expired token sends the person back to sign in, even if they are idle.
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => signOut('expired'), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session, signOut]);

  // A set-password link works signed in or not (an admin may try one in their own browser): choosing the
  // password signs in as its person, in place of whoever was signed in.
  if (location.pathname === '/set-password') {
    return <SetPasswordPage onSignedIn={(token) => { setReason(null); navigate('/', { replace: true }); setSession(saveSession(token)); }} />;
  }
  if (!session) {
    return <SignInPage reason={reason} onSignedIn={(token) => { setReason(null); setSession(saveSession(token)); }} />;
  }
  // Keyed by the person, not the token: a renewal swaps the token without a remount (open grids, undo kept).
  return <SignedIn key={session.userId} session={session} signOut={signOut} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <ErrorBoundary what="this page">
        <App />
      </ErrorBoundary>
    </BrowserRouter>
  </StrictMode>,
);
