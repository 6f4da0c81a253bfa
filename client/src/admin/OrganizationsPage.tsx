/**
 * Partner organisations (`/admin/organizations`, admins): each with when it was made, its studio companies
 * and people counted, and a link to its page. Organisations are made by the new_partner workflow.
 */
import { Link, useLocation } from 'react-router';
import { useQuery } from '@apollo/client/react';
import { OrganizationListDocument } from '../graphql/generated';
import { formatDateTime } from '../common/format';
import { ErrorMessage, Loading } from '../common/Status';

export function OrganizationsPage() {
  const { data, error, refetch } = useQuery(OrganizationListDocument, { fetchPolicy: 'cache-and-network' });
  // The organisation page says what it deleted on the way back here.
  const deleted = (useLocation().state as { deleted?: string } | null)?.deleted;
  const organizations = data?.organizations;
  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Organisations</h1>
        <span className="spacer" />
        <Link to="/workflows" className="muted small">New ones come from the new_partner workflow</Link>
      </div>
      {deleted && <p className="success" role="status">{deleted} was deleted.</p>}
      <section className="panel" aria-labelledby="organizations-title">
        <h2 id="organizations-title" className="visually-hidden">Partner organisations</h2>
        {error && !data && <ErrorMessage error={error} retry={() => void refetch()} />}
        {!data && !error && <Loading what="the organisations" />}
        {organizations && organizations.length === 0 && <p className="muted empty">No partner organisation yet.</p>}
        {organizations && organizations.length > 0 && (
          <table className="data organizations" aria-label="Partner organisations">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">Studio companies</th>
                <th scope="col" className="num">People</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {organizations.map((o) => (
                <tr key={o.id} data-organization={o.name}>
                  <td><Link to={`/admin/organizations/${o.id}`}>{o.name}</Link></td>
                  <td className="num">{o.studioCompanies.length}</td>
                  <td className="num">{o.users.length}</td>
                  <td className="nowrap">{formatDateTime(o.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
