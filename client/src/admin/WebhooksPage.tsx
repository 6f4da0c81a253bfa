/**
 * Webhooks (`/admin/webhooks`, admins): the endpoints that receive Plansync's events, a new one (URL, events,
 * description; its signing secret shown this once, with a copy button, since the server cannot show it
 * again), deleting one after a confirmation (its pending deliveries stop), and each one's delivery log
 * (event, status, attempts, the receiver's last answer, when), refreshed on demand.
 * What may be created is the server's to decide (https, no internal addresses); its refusals are shown as it
 * words them.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { ConfirmDialog } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime } from '../common/format';
import { Notices, useNotices } from '../common/Notices';
import { ErrorMessage, Loading } from '../common/Status';
import {
  CreateWebhookDocument,
  DeleteWebhookDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
  type WebhooksQuery,
} from '../graphql/generated';

type Hook = WebhooksQuery['webhooks'][number];

/** The contract's events, with what each means to the reader. */
const EVENTS: { name: string; what: string }[] = [
  { name: 'submission.status_changed', what: "A unit's submission was submitted, approved, rejected, withdrawn or reopened" },
  { name: 'workflow.step_awaiting_input', what: 'A workflow step waits for someone (a review, details to enter)' },
  { name: 'workflow.step_failed', what: 'A workflow step failed after its retries' },
  { name: 'workflow.execution_completed', what: 'A workflow finished' },
  { name: 'workflow.execution_failed', what: 'A workflow failed' },
  { name: 'plan.created', what: 'A budget plan was created' },
  { name: 'budget.values_imported', what: 'Values were imported from a spreadsheet' },
];

const STATUS_BADGE: Record<string, string> = { SUCCEEDED: 'good', PENDING: 'neutral', FAILED: 'bad' };
const STATUS_LABEL: Record<string, string> = { SUCCEEDED: 'Delivered', PENDING: 'Pending', FAILED: 'Failed' };

/** The signing secret, this once: stored encrypted for signing, never shown again. */
function SecretOnce({ secret, url, onDone }: { secret: string; url: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // Clipboard refused (an insecure origin, a denied permission): the field is selected to copy by hand.
      setCopied('failed');
    }
  };
  return (
    <div className="invitation" data-testid="webhook-secret">
      <label>
        Signing secret for {url}
        <span className="copy-row">
          <input readOnly value={secret} aria-label="Signing secret" onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => void copy()}>{copied === 'yes' ? 'Copied' : 'Copy secret'}</button>
        </span>
      </label>
      {copied === 'failed' && <p className="field-error">Could not copy: select the secret and copy it yourself.</p>}
      <p className="small">
        Give it to the receiving system: it verifies the <code>webhook-signature</code> header with any Standard Webhooks library.
      </p>
      <p className="banner warn small" role="note">This secret will not be shown again. If it is lost, delete the webhook and create a new one.</p>
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onDone}>Done</button>
      </div>
    </div>
  );
}

function NewWebhookForm({ onCreated }: { onCreated: (secret: string, hook: Hook) => void }) {
  const [url, setUrl] = useState('https://');
  const [events, setEvents] = useState<string[]>([]);
  const [description, setDescription] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [create, { loading }] = useMutation(CreateWebhookDocument, { refetchQueries: [WebhooksDocument], awaitRefetchQueries: true });
  const toggle = (name: string, on: boolean) => setEvents((now) => (on ? [...now, name] : now.filter((e) => e !== name)));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    if (events.length === 0) {
      setProblem({ message: 'Choose at least one event.' });
      return;
    }
    try {
      const { data } = await create({ variables: { url: url.trim(), events, description: description.trim() || null } });
      if (data) {
        onCreated(data.createWebhook.secret, data.createWebhook.webhook);
        setUrl('https://');
        setEvents([]);
        setDescription('');
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form className="stacked-form" aria-label="New webhook" onSubmit={submit}>
      <h2>New webhook</h2>
      <label>
        URL
        <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} required maxLength={2000} placeholder="https://example.com/plansync" />
      </label>
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map(({ name, what }) => (
          <label key={name} className="choice">
            <input type="checkbox" name="events" value={name} checked={events.includes(name)} onChange={(e) => toggle(name, e.target.checked)} />
            <span><code>{name}</code> <span className="small muted">{what}</span></span>
          </label>
        ))}
      </fieldset>
      <label>
        Description <span className="small muted">(optional)</span>
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} placeholder="What receives it, who looks after it" />
      </label>
      <p className="small muted">Only https to public addresses. Deliveries are retried with backoff until the receiver answers 2xx.</p>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create webhook'}</button>
      </div>
    </form>
  );
}

function DeliveryLog({ hook }: { hook: Hook }) {
  const query = useQuery(WebhookDeliveriesDocument, { variables: { webhookId: hook.id, first: 50 }, fetchPolicy: 'network-only', notifyOnNetworkStatusChange: true });
  const deliveries = query.data?.webhookDeliveries ?? [];
  return (
    <section className="panel" aria-labelledby="deliveries-title" data-testid="delivery-log">
      <div className="page-head">
        <h2 id="deliveries-title">Deliveries to {hook.url}</h2>
        <button type="button" className="secondary small" onClick={() => void query.refetch()} disabled={query.loading}>
          {query.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      {query.error && <ErrorMessage error={query.error} retry={() => void query.refetch()} />}
      {!query.data && !query.error && <Loading what="the deliveries" />}
      {query.data && deliveries.length === 0 && <p className="muted">Nothing sent yet: deliveries appear here when one of its events happens.</p>}
      {deliveries.length > 0 && (
        <table className="data" aria-label="Deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id} data-delivery={d.id}>
                <td><code>{d.event}</code></td>
                <td><span className={`badge ${STATUS_BADGE[d.status] ?? 'neutral'}`}>{STATUS_LABEL[d.status] ?? d.status}</span></td>
                <td>{d.attempts}</td>
                <td>{d.responseStatus ?? (d.attempts > 0 ? 'No answer' : '—')}</td>
                <td className="nowrap">{formatDateTime(d.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function WebhooksPage() {
  const query = useQuery(WebhooksDocument, { fetchPolicy: 'cache-and-network' });
  const { notices, notify, dismiss } = useNotices();
  const [created, setCreated] = useState<{ secret: string; url: string } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Hook | null>(null);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [remove, { loading }] = useMutation(DeleteWebhookDocument, { refetchQueries: [WebhooksDocument], awaitRefetchQueries: true });
  const hooks = query.data?.webhooks ?? [];
  const shown = hooks.find((h) => h.id === selected) ?? null;

  const confirmDelete = async () => {
    if (!deleting) return;
    setProblem(null);
    try {
      await remove({ variables: { id: deleting.id } });
      notify(`Deleted the webhook to ${deleting.url}.`);
      if (selected === deleting.id) setSelected(null);
      setDeleting(null);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  if (query.error && !query.data) return <ErrorMessage error={query.error} retry={() => void query.refetch()} />;
  if (!query.data) return <Loading what="the webhooks" />;
  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Webhooks</h1>
      </div>
      <section className="panel" aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">Endpoints</h2>
        {hooks.length === 0 ? (
          <p className="muted">No webhooks yet. Create one below to tell another system when budgets and workflows change.</p>
        ) : (
          <table className="data" aria-label="Webhooks">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {hooks.map((hook) => (
                <tr key={hook.id} data-webhook={hook.url} aria-selected={hook.id === selected}>
                  <td className="break"><code>{hook.url}</code></td>
                  <td>{hook.events.map((e) => <div key={e}><code>{e}</code></div>)}</td>
                  <td>{hook.description ?? <span className="muted">—</span>}</td>
                  <td className="nowrap">{formatDateTime(hook.createdAt)}</td>
                  <td className="nowrap">
                    <button type="button" className="secondary small" onClick={() => setSelected(hook.id)} aria-label={`Deliveries to ${hook.url}`}>Deliveries</button>{' '}
                    <button type="button" className="danger small" onClick={() => { setProblem(null); setDeleting(hook); }} aria-label={`Delete ${hook.url}`}>Delete…</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {shown && <DeliveryLog key={shown.id} hook={shown} />}
      <section className="panel">
        {created ? (
          <SecretOnce secret={created.secret} url={created.url} onDone={() => setCreated(null)} />
        ) : (
          <NewWebhookForm onCreated={(secret, hook) => { setCreated({ secret, url: hook.url }); setSelected(hook.id); notify(`Created the webhook to ${hook.url}.`); }} />
        )}
      </section>
      {deleting && (
        <ConfirmDialog title={`Delete the webhook to ${deleting.url}?`} problem={problem} busy={loading} danger
          confirmLabel="Delete webhook" busyLabel="Deleting…" onConfirm={() => void confirmDelete()} onCancel={() => setDeleting(null)}>
          <p>It receives no more events, and deliveries still waiting to be retried are dropped. Its delivery log goes with it.</p>
        </ConfirmDialog>
      )}
      <Notices notices={notices} dismiss={dismiss} />
    </div>
  );
}
