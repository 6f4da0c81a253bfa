/** The most recent sign-in attempts (admins): who, when, how, from where, and whether it worked. */
import { useQuery } from '@apollo/client/react';
import { SignInLogDocument } from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, StatusBadge } from '../common/format';

export function SignInLog() {
  const { data, error, loading, refetch } = useQuery(SignInLogDocument, { variables: { first: 50 }, fetchPolicy: 'cache-and-network', notifyOnNetworkStatusChange: true });
  return (
    <section className="panel" aria-labelledby="signins-title">
      <div className="list-head">
        <h2 id="signins-title">Recent sign-ins</h2>
        <button type="button" className="secondary small-button" onClick={() => void refetch()} disabled={loading}>
          {loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      {error && <ErrorMessage error={error} retry={() => void refetch()} />}
      {!data && !error && <Loading what="the sign-in log" />}
      {data && (
        <div className="table-scroll">
          <table className="data" aria-label="Recent sign-ins">
            <thead>
              <tr><th scope="col">When</th><th scope="col">Email</th><th scope="col">Result</th><th scope="col">Method</th><th scope="col">Address</th></tr>
            </thead>
            <tbody>
              {data.signInEvents.map((event) => (
                <tr key={event.id}>
                  <td className="nowrap">{formatDateTime(event.at)}</td>
                  <td>{event.email}</td>
                  <td><StatusBadge status={event.success ? 'SUCCEEDED' : 'FAILED'} label={event.success ? 'Signed in' : 'Refused'} /></td>
                  <td>{event.method === 'ENTRA_ID' ? 'Entra ID' : 'Password'}</td>
                  <td className="muted">{event.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.signInEvents.length === 0 && <p className="muted empty">No sign-ins yet.</p>}
        </div>
      )}
    </section>
  );
}
