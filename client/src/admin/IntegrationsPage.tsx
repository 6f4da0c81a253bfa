/**
 * Integrations (`/admin/integrations`, admins): every outside service Plansync talks to (Microsoft Graph,
 * Power BI, the provisioning targets Metabase, Slack, Studio, Infrabot and LMS, Entra sign-in, mail, Redis,
 * webhooks), each with a status badge, when it was last called, its
 * last error, what uses it and the settings that turn it on. Asked again every 15 seconds while the page is
 * open (and on demand): the server keeps the state in memory, there is no event to subscribe to.
 */
import { Fragment } from 'react';
import { useQuery } from '@apollo/client/react';
import { formatDateTime } from '../common/format';
import { ErrorMessage, Loading } from '../common/Status';
import { IntegrationsDocument, type IntegrationsQuery } from '../graphql/generated';

type Integration = IntegrationsQuery['integrations'][number];

/** Often enough to see a failing call without reloading; the answer is a few in-memory values and two counts. */
export const POLL_MS = 15_000;

const STATE: Record<string, { label: string; tone: string }> = {
  OK: { label: 'Last call OK', tone: 'good' },
  FAILING: { label: 'Failing', tone: 'bad' },
  CONFIGURED: { label: 'Configured', tone: '' },
  SIMULATED: { label: 'Simulated', tone: 'warn' },
  NOT_CONFIGURED: { label: 'Not configured', tone: 'neutral' },
};

/** The settings' names (TEAMS_TEAM_ID, ENTRA_*) set as code, the rest as the server wrote it. */
function WithSettings({ text }: { text: string }) {
  const parts = text.split(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]*\*?)/);
  return <>{parts.map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : <Fragment key={i}>{part}</Fragment>))}</>;
}

function IntegrationCard({ integration: it }: { integration: Integration }) {
  const state = STATE[it.state] ?? { label: it.state, tone: 'neutral' };
  const titleId = `integration-${it.key}`;
  return (
    <section className="panel integration" aria-labelledby={titleId} data-testid={`integration-${it.key}`} data-state={it.state}>
      <div className="integration-head">
        <h2 id={titleId}>{it.name}</h2>
        <span className={`badge ${state.tone}`} data-testid="integration-state">{state.label}</span>
      </div>
      <p className="integration-purpose">{it.purpose}</p>
      <dl className="integration-facts">
        <dt>Last call</dt>
        <dd data-testid="integration-last-call">{it.lastCallAt ? formatDateTime(it.lastCallAt) : <span className="muted">none yet</span>}</dd>
        {it.detail && (
          <>
            <dt>Now</dt>
            <dd>{it.detail}</dd>
          </>
        )}
        {it.lastError && (
          <>
            <dt>{it.state === 'FAILING' ? 'Error' : 'Last error'}</dt>
            <dd className={it.state === 'FAILING' ? 'error' : 'muted'} data-testid="integration-error">
              {it.lastError}
              {it.lastErrorAt && <span className="small muted"> ({formatDateTime(it.lastErrorAt)})</span>}
            </dd>
          </>
        )}
        <dt>Set up</dt>
        <dd className="small settings"><WithSettings text={it.howToConfigure} /></dd>
      </dl>
    </section>
  );
}

export function IntegrationsPage() {
  const query = useQuery(IntegrationsDocument, { pollInterval: POLL_MS, notifyOnNetworkStatusChange: true });
  const rows = query.data?.integrations ?? [];
  const failing = rows.filter((r) => r.state === 'FAILING').length;
  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Integrations</h1>
        <button type="button" className="secondary small" onClick={() => void query.refetch()} disabled={query.loading}>Refresh</button>
      </div>
      <p className="muted small integrations-note">
        Refreshed every 15 seconds. Microsoft Graph and Power BI show the calls of the server instance that answered, as
        {' '}<code>/readyz</code> does; settings are in the README, under Configuration.
      </p>
      {query.error && <ErrorMessage error={query.error} retry={() => void query.refetch()} />}
      {!query.data && !query.error && <Loading what="the integrations" />}
      {query.data && (
        <p role="status" className={`integrations-summary ${failing > 0 ? 'banner warn' : 'muted'}`} data-testid="integrations-summary">
          {failing === 0 ? 'Nothing is failing.' : `${failing} ${failing === 1 ? 'integration is' : 'integrations are'} failing.`}
        </p>
      )}
      <div className="integrations">
        {rows.map((integration) => <IntegrationCard key={integration.key} integration={integration} />)}
      </div>
    </div>
  );
}
