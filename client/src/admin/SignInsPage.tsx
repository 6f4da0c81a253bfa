/**
 * Sign-ins (`/admin/sign-ins`, admins): the sign-in log filtered on the server (address, result, method,
 * since; kept in the address, so a filtered view can be shared and survives a reload), exported as CSV; the accounts failed attempts have locked now, each with an Unlock button; failed
 * attempts per address typed; and the people a Microsoft sign-in created who wait for access, each a link to
 * their page where an admin gives it. What the server refuses is shown as it words it.
 */
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from '@apollo/client/react';
import { SignInsDocument, SignInTroublesDocument, UnlockLockedAccountDocument, type SignInsQuery, type SignInMethod } from '../graphql/generated';
import { download, toCsv } from '../common/csv';
import { problemOf } from '../common/errors';
import { formatDateTime, StatusBadge } from '../common/format';
import { Notices, useNotices } from '../common/Notices';
import { ErrorMessage, Loading } from '../common/Status';
import { FilterForm, startOfDay, useUrlFilters, type FilterValues } from '../common/FilterForm';

/** Rows of the log loaded at once: the server serves up to 1000. */
const LOG_ROWS = 200;
/** Failed attempts are added up over this many days unless the filter says since when. */
const FAILURE_DAYS = 7;

/** result: SUCCESS or FAILURE; method: a SignInMethod; since: a local date (yyyy-mm-dd) from which on. */
const FILTER_KEYS = ['email', 'result', 'method', 'since'] as const;
type Filters = FilterValues<(typeof FILTER_KEYS)[number]>;

const METHOD_LABELS: Record<SignInMethod, string> = { PASSWORD: 'Password', ENTRA_ID: 'Microsoft (Entra ID)' };

function variablesOf(filters: Filters) {
  return {
    first: LOG_ROWS,
    email: filters.email.trim() || null,
    // What the address holds is checked: anything else (a hand-edited link) filters on nothing.
    success: filters.result === 'SUCCESS' ? true : filters.result === 'FAILURE' ? false : null,
    method: filters.method in METHOD_LABELS ? (filters.method as SignInMethod) : null,
    since: startOfDay(filters.since),
  };
}

type SignInEvent = SignInsQuery['signInEvents'][number];

function signInsCsv(events: readonly SignInEvent[]): string {
  return toCsv(
    ['at', 'email', 'result', 'method', 'address', 'person'],
    events.map((e) => [e.at, e.email, e.success ? 'signed in' : 'refused', e.method, e.ip ?? '', e.user?.displayName ?? '']),
  );
}

export function SignInsPage() {
  const filters = useUrlFilters(FILTER_KEYS);
  const { applied, draft, edit, filtered } = filters;
  const variables = useMemo(() => variablesOf(applied), [applied]);
  // Whatever the log shows, the failures are added up from a fixed start: the filter's day, else a week ago
  // (taken once, so that re-rendering does not ask again with a new instant).
  const [weekAgo] = useState(() => new Date(Date.now() - FAILURE_DAYS * 86_400_000).toISOString());
  const log = useQuery(SignInsDocument, { variables, fetchPolicy: 'network-only', notifyOnNetworkStatusChange: true });
  const troubles = useQuery(SignInTroublesDocument, {
    variables: { since: startOfDay(applied.since) ?? weekAgo },
    fetchPolicy: 'network-only',
    notifyOnNetworkStatusChange: true,
  });
  const [unlock] = useMutation(UnlockLockedAccountDocument);
  const [unlocking, setUnlocking] = useState<string | null>(null);
  const { notices, notify, dismiss } = useNotices();
  const [problem, setProblem] = useState<string | null>(null);
  const events = log.data?.signInEvents;

  const refresh = () => {
    void log.refetch();
    void troubles.refetch();
  };
  const unlockAccount = async (userId: string, email: string) => {
    setUnlocking(userId);
    setProblem(null);
    try {
      await unlock({ variables: { userId } });
      notify(`${email} is unlocked: they can sign in again from every address.`);
      await troubles.refetch();
    } catch (error) {
      setProblem(`Could not unlock ${email}: ${problemOf(error).message}`);
    } finally {
      setUnlocking(null);
    }
  };
  const exportCsv = () => {
    if (!events) return;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
    download(`plansync-sign-ins-${stamp}.csv`, signInsCsv(events));
  };
  const locked = troubles.data?.lockedUsers;
  const failed = troubles.data?.failedSignIns;
  const waiting = troubles.data?.usersAwaitingAccess;

  return (
    <div className="admin-page signins-page">
      <div className="page-head">
        <h1>Sign-ins</h1>
        <span className="spacer" />
        <button type="button" className="secondary" onClick={refresh} disabled={log.loading || troubles.loading}>
          {log.loading || troubles.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <Notices notices={notices} dismiss={dismiss} />
      {problem && <div className="form-problem" role="alert">{problem}</div>}

      <div className="signin-overview">
        <section className="panel" aria-labelledby="locked-title">
          <h2 id="locked-title">Locked now</h2>
          <p className="muted small">Failed attempts in a row lock an account for the address they came from only; the owner still signs in from elsewhere.</p>
          {troubles.error && !troubles.data && <ErrorMessage error={troubles.error} retry={() => void troubles.refetch()} />}
          {!troubles.data && !troubles.error && <Loading what="the locked accounts" />}
          {locked && locked.length === 0 && <p className="muted empty">No account is locked.</p>}
          {locked && locked.length > 0 && (
            <table className="data locked" aria-label="Accounts locked now">
              <thead>
                <tr><th scope="col">Person</th><th scope="col">Until</th><th scope="col">From</th><th scope="col"><span className="visually-hidden">Action</span></th></tr>
              </thead>
              <tbody>
                {locked.map(({ user, lockedUntil, addresses }) => (
                  <tr key={user.id} data-email={user.email}>
                    <td>
                      <Link to={`/admin/users/${user.id}`}>{user.displayName}</Link>
                      <div className="muted small">{user.email}</div>
                    </td>
                    <td className="nowrap">{formatDateTime(lockedUntil)}</td>
                    <td className="small">{addresses.join(', ')}</td>
                    <td>
                      <button type="button" className="small-button" onClick={() => void unlockAccount(user.id, user.email)} disabled={unlocking === user.id}>
                        {unlocking === user.id ? 'Unlocking…' : 'Unlock'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="panel" aria-labelledby="waiting-title">
          <h2 id="waiting-title">Waiting for access</h2>
          <p className="muted small">Signed in with Microsoft, but their groups give them no role: they see nothing until you give them access.</p>
          {!troubles.data && !troubles.error && <Loading what="the people waiting" />}
          {waiting && waiting.length === 0 && <p className="muted empty">Nobody is waiting.</p>}
          {waiting && waiting.length > 0 && (
            <ul className="plain-list waiting" aria-label="People waiting for access">
              {waiting.map((person) => (
                <li key={person.id} data-email={person.email}>
                  <Link to={`/admin/users/${person.id}`}>{person.displayName}</Link> <span className="muted small">{person.email}</span>
                  {person.lastSignInAt && <div className="muted small">Last signed in {formatDateTime(person.lastSignInAt)}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <section className="panel" aria-labelledby="failed-title">
        <h2 id="failed-title">Failed attempts{applied.since ? ` since ${new Date(`${applied.since}T00:00:00`).toLocaleDateString()}` : `, last ${FAILURE_DAYS} days`}</h2>
        {!troubles.data && !troubles.error && <Loading what="the failed attempts" />}
        {failed && failed.length === 0 && <p className="muted empty">No failed sign-in.</p>}
        {failed && failed.length > 0 && (
          <div className="table-scroll">
            <table className="data failed" aria-label="Failed attempts per email">
              <thead>
                <tr><th scope="col">Email typed</th><th scope="col">Person</th><th scope="col" className="num">Failures</th><th scope="col" className="num">Addresses</th><th scope="col">Last</th></tr>
              </thead>
              <tbody>
                {failed.map((row) => (
                  <tr key={row.email} data-email={row.email}>
                    <td>{row.email}</td>
                    <td>{row.user ? <Link to={`/admin/users/${row.user.id}`}>{row.user.displayName}</Link> : <span className="muted">no such account</span>}</td>
                    <td className="num">{row.failures}</td>
                    <td className="num">{row.addresses}</td>
                    <td className="nowrap">{formatDateTime(row.lastAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="panel" aria-labelledby="log-title">
        <div className="list-head">
          <h2 id="log-title">Sign-in log</h2>
          <button type="button" className="secondary small-button" onClick={exportCsv} disabled={!events || events.length === 0}>
            Export CSV{events ? ` (${events.length})` : ''}
          </button>
        </div>
        <FilterForm label="Filter the sign-in log" filtered={filtered} onApply={filters.apply} onClear={filters.clear}>
          <label>
            Email
            <input type="email" value={draft.email} placeholder="any" onChange={(e) => edit('email', e.target.value)} />
          </label>
          <label>
            Result
            <select value={draft.result} onChange={(e) => edit('result', e.target.value)}>
              <option value="">Any result</option>
              <option value="SUCCESS">Signed in</option>
              <option value="FAILURE">Refused</option>
            </select>
          </label>
          <label>
            Method
            <select value={draft.method} onChange={(e) => edit('method', e.target.value)}>
              <option value="">Any method</option>
              {Object.entries(METHOD_LABELS).map(([method, label]) => (
                <option key={method} value={method}>{label}</option>
              ))}
            </select>
          </label>
          <label>
            Since
            <input type="date" value={draft.since} onChange={(e) => edit('since', e.target.value)} />
          </label>
        </FilterForm>
        {log.error && !events && <ErrorMessage error={log.error} retry={() => void log.refetch()} />}
        {!events && !log.error && <Loading what="the sign-in log" />}
        {events && (
          <div className="table-scroll">
            <table className="data signins" aria-label="Sign-ins, newest first">
              <thead>
                <tr><th scope="col">When</th><th scope="col">Email</th><th scope="col">Result</th><th scope="col">Method</th><th scope="col">Address</th></tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.id} data-email={event.email}>
                    <td className="nowrap">{formatDateTime(event.at)}</td>
                    <td>{event.user ? <Link to={`/admin/users/${event.user.id}`}>{event.email}</Link> : event.email}</td>
                    <td><StatusBadge status={event.success ? 'SUCCEEDED' : 'FAILED'} label={event.success ? 'Signed in' : 'Refused'} /></td>
                    <td>{METHOD_LABELS[event.method]}</td>
                    <td className="muted">{event.ip ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {events.length === 0 && <p className="muted empty">{filtered ? 'Nothing matches these filters.' : 'No sign-ins yet.'}</p>}
            {events.length === LOG_ROWS && <p className="muted small">The latest {LOG_ROWS} shown: narrow the filters to see older ones.</p>}
          </div>
        )}
      </section>
    </div>
  );
}
