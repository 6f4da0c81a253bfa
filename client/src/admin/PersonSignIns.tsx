/**
 * A person's recent sign-in attempts on their page: the attempts made with their address (so failed ones
 * that never reached an account count too, which is what a lock comes from), newest first, filtered on the
 * server (`signInEvents(email, success)`).
 */
import { useState } from 'react';
import { useQuery } from '@apollo/client/react';
import { PersonSignInsDocument } from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, StatusBadge } from '../common/format';

const SHOWN = 20;

export function PersonSignIns({ email }: { email: string }) {
  const [failedOnly, setFailedOnly] = useState(false);
  const { data, error, loading, refetch } = useQuery(PersonSignInsDocument, {
    variables: { email, first: SHOWN, success: failedOnly ? false : null },
    fetchPolicy: 'cache-and-network',
    notifyOnNetworkStatusChange: true,
  });
  return (
    <section className="panel" aria-labelledby="person-signins-title">
      <div className="list-head">
        <h2 id="person-signins-title">Recent sign-ins</h2>
        <span className="list-tools">
          <label className="check"><input type="checkbox" checked={failedOnly} onChange={(e) => setFailedOnly(e.target.checked)} /> Refused only</label>
          <button type="button" className="secondary small-button" onClick={() => void refetch()} disabled={loading}>{loading ? 'Refreshing…' : 'Refresh'}</button>
        </span>
      </div>
      {error && <ErrorMessage error={error} retry={() => void refetch()} />}
      {!data && !error && <Loading what="their sign-ins" />}
      {data && data.signInEvents.length === 0 && <p className="muted empty">{failedOnly ? 'No refused attempts.' : 'No sign-in attempts with this address yet.'}</p>}
      {data && data.signInEvents.length > 0 && (
        <table className="data" aria-label={`Sign-ins of ${email}`}>
          <thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">Method</th><th scope="col">Address</th></tr></thead>
          <tbody>
            {data.signInEvents.map((event) => (
              <tr key={event.id}>
                <td className="nowrap">{formatDateTime(event.at)}</td>
                <td><StatusBadge status={event.success ? 'SUCCEEDED' : 'FAILED'} label={event.success ? 'Signed in' : 'Refused'} /></td>
                <td>{event.method === 'ENTRA_ID' ? 'Entra ID' : 'Password'}</td>
                <td className="muted">{event.ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.signInEvents.length === SHOWN && <p className="small muted">The latest {SHOWN}; the sign-in log has the rest.</p>}
    </section>
  );
}
