/**
 * Webhooks against the real server and a real HTTP receiver on 127.0.0.1 (so WEBHOOK_ALLOW_INSECURE=true):
 * every event type triggered the way users trigger it, signatures checked with the `standardwebhooks`
 * verifier, retries after 500s and after silence, a restart while a delivery is pending, refused URLs
 * without the flag, and every role but ADMIN refused.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordActivity } from '../activity/activityLog.js';
import { ErrorCode } from '../errors.js';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { sharedJwtEnv } from '../testing/instances.js';
import { restartableServer, type RestartableServer } from '../testing/restartableServer.js';
import { cutListenerConnection } from '../testing/listeners.js';
import { runNewPartner } from '../testing/workflowRuns.js';
import { WEBHOOK_EVENTS } from './events.js';
import { OUTBOX_CHANNEL, OUTBOX_LISTENER_NAME } from './webhooks.js';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver: `/ok` answers 200, `/fail` 500, `/silent` never; `/switch` follows `switchOk`. */
async function startReceiver() {
  const received: Received[] = [];
  const state = { switchOk: false };
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body });
      if (req.url === '/ok' || (req.url === '/switch' && state.switchOk)) res.writeHead(204).end();
      else if (req.url === '/silent') held.push(res);
      else res.writeHead(500).end('no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    state,
    at: (path: string) => received.filter((r) => r.path === path),
    close: async () => {
      held.forEach((r) => r.destroy());
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const CREATE = `mutation($url: String!, $events: [String!]!, $d: String) {
  createWebhook(url: $url, events: $events, description: $d) { secret webhook { id url events description active createdAt } }
}`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(webhookId: $id) { id event status attempts responseStatus at } }`;

const ROLES = ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example'];

describe('webhooks', () => {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let admin: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer({
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_RETRY_BASE_SECONDS: '0.2',
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_TIMEOUT_SECONDS: '1',
      SIMULATED_STEP_MS: '5',
      SIMULATE_FAILURE_STEPS: 'create_slack_group',
      WORKFLOW_MAX_ATTEMPTS: '1',
    });
    admin = await server.login('admin@example.com');
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  async function create(path: string, events: readonly string[] = WEBHOOK_EVENTS) {
    const res = await server.gql(CREATE, { url: receiver.base + path, events, d: `to ${path}` }, admin);
    expect(res.errors).toBeUndefined();
    return res.data.createWebhook as { secret: string; webhook: { id: string } };
  }

  async function deliveries(id: string) {
    const res = await server.gql(DELIVERIES, { id }, admin);
    expect(res.errors).toBeUndefined();
    return res.data.webhookDeliveries as { id: string; event: string; status: string; attempts: number; responseStatus: number | null }[];
  }

  it('sends every event type, signed per Standard Webhooks, once each, and lists the deliveries', async () => {
    const { secret, webhook } = await create('/ok');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    // The secret is stored encrypted, never as given.
    const [stored] = await server.sql('select secret from webhook where id = $1', [webhook.id]);
    expect(stored.secret).not.toContain(secret.slice(6, 20));

    // plan.created
    const plan = await server.gql(`mutation { createBudgetPlan(input: { name: "Hooked FY", fiscalYear: 2031 }) { id } }`, {}, admin);
    const planId = plan.data.createBudgetPlan.id;
    // submission.status_changed, workflow.step_awaiting_input (finance review), then approval:
    // workflow.execution_completed and submission.status_changed again.
    const lead = await server.login('lead.finance@example.com');
    const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "FINANCE") { execution { id } } }`, { p: planId }, lead);
    expect(submitted.errors).toBeUndefined();
    const executionId = submitted.data.submitBudget.execution.id;
    await eventually(async () => {
      const res = await server.gql(
        `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "APPROVE" }) { id } }`,
        { id: executionId },
        admin,
      );
      return !res.errors;
    }, 'the finance review to wait for input');
    // workflow.step_failed and workflow.execution_failed: the Slack step fails (SIMULATE_FAILURE_STEPS).
    await runNewPartner(server, admin, 'Hooked Partner');
    // budget.values_imported: what the spreadsheet import (issue 15) records in its transaction.
    await server.app.services.orm.em.fork().transactional(async (tx) => {
      recordActivity(tx, { userId: '00000000-0000-4000-8000-00000000a11c', email: 'importer@example.com' }, 'VALUES_IMPORTED', 'Hooked FY', { planId, cells: 3 });
    });

    const types = () => receiver.at('/ok').map((r) => JSON.parse(r.body).type as string);
    await eventually(() => WEBHOOK_EVENTS.every((e) => types().includes(e)), 'every event type to arrive', 20_000);

    const verifier = new Webhook(secret);
    for (const request of receiver.at('/ok')) {
      const verified = verifier.verify(request.body, request.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
      expect(WEBHOOK_EVENTS).toContain(verified.type);
      expect(new Date(verified.timestamp).toISOString()).toBe(verified.timestamp);
      expect(request.headers['webhook-signature']).toMatch(/^v1,/);
      // No secret of ours travels in a payload.
      expect(request.body).not.toContain(secret.slice(6));
    }
    // A tampered body does not verify.
    const one = receiver.at('/ok')[0];
    expect(() => verifier.verify(one.body.replace('"type"', '"type" '), one.headers)).toThrow();

    const bodies = receiver.at('/ok').map((r) => JSON.parse(r.body));
    expect(bodies.find((b) => b.type === 'plan.created').data).toMatchObject({ planId, name: 'Hooked FY', fiscalYear: 2031, createdBy: 'admin@example.com' });
    const statuses = bodies.filter((b) => b.type === 'submission.status_changed' && b.data.planId === planId).map((b) => b.data.status);
    expect(statuses).toEqual(expect.arrayContaining(['SUBMITTED', 'APPROVED']));
    expect(bodies.find((b) => b.type === 'workflow.step_awaiting_input' && b.data.executionId === executionId).data).toMatchObject({ stepKey: 'finance_review' });
    expect(bodies.find((b) => b.type === 'workflow.step_failed').data).toMatchObject({ stepKey: 'create_slack_group', definitionKey: 'new_partner' });
    expect(bodies.find((b) => b.type === 'budget.values_imported').data).toMatchObject({ subject: 'Hooked FY', details: { planId, cells: 3 }, importedBy: 'importer@example.com' });

    // Each webhook-id once: one delivery per event, all answered.
    const ids = receiver.at('/ok').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    await eventually(async () => (await deliveries(webhook.id)).length === ids.length && (await deliveries(webhook.id)).every((d) => d.status === 'SUCCEEDED'), 'the log to show every delivery answered');
    const log = await deliveries(webhook.id);
    expect(log.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(log.every((d) => d.attempts === 1 && d.responseStatus === 204)).toBe(true);
    expect((await server.gql(`query($id: ID!) { webhookDeliveries(webhookId: $id, first: 2) { id } }`, { id: webhook.id }, admin)).data.webhookDeliveries).toHaveLength(2);
  });

  it('hears the outbox announce a row at its commit, whoever wrote it, and delivers it', async () => {
    const { webhook } = await create('/ok', ['plan.created']);
    const listener = new pg.Client({ connectionString: server.databaseUrl });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (message) => heard.push(message.channel));
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      await listener.query('LISTEN plansync_probe');
      // As a script or another tool would write it: plain SQL, in a transaction of its own, no server code.
      const planId = '00000000-0000-4000-8000-0000000005c1';
      await server.sql(`select webhook_outbox_add('plan.created', jsonb_build_object('planId', $1::text, 'name', 'Scripted FY'))`, [planId]);
      await eventually(() => heard.includes(OUTBOX_CHANNEL), 'the outbox to announce the row');
      await eventually(async () => (await deliveries(webhook.id)).some((d) => d.status === 'SUCCEEDED'), 'the scripted event to be delivered', 20_000);
      expect(receiver.at('/ok').some((r) => JSON.parse(r.body).data.planId === planId)).toBe(true);
      // Nothing announced for an event no active webhook takes: it never reaches the outbox.
      heard.length = 0;
      await server.sql(`select webhook_outbox_add('plan.nobody_listens', '{}'::jsonb)`);
      // Notifications arrive in commit order: once the probe committed after it is heard, so would the row's be.
      await server.sql(`select pg_notify('plansync_probe', '')`);
      await eventually(() => heard.includes('plansync_probe'), 'the probe');
      expect(heard).toEqual(['plansync_probe']);
    } finally {
      await listener.end();
    }
  });

  it('listens to the outbox again after its database connection is cut', async () => {
    const { webhook } = await create('/ok', ['plan.created']);
    await cutListenerConnection(server, OUTBOX_LISTENER_NAME);
    await server.gql(`mutation { createBudgetPlan(input: { name: "Reconnected FY", fiscalYear: 2033 }) { id } }`, {}, admin);
    await eventually(async () => (await deliveries(webhook.id)).some((d) => d.status === 'SUCCEEDED'), 'the event after the reconnection to be delivered', 20_000);
  });

  it('retries a delivery the receiver answers with 500, with the same webhook-id, and gives up after WEBHOOK_MAX_ATTEMPTS', async () => {
    const { webhook } = await create('/fail', ['plan.created']);
    await server.gql(`mutation { createBudgetPlan(input: { name: "Failing FY", fiscalYear: 2032 }) { id } }`, {}, admin);
    const [failed] = await eventually(async () => {
      const log = await deliveries(webhook.id);
      return log.length === 1 && log[0].status === 'FAILED' ? log : null;
    }, 'the delivery to fail for good', 20_000) as Awaited<ReturnType<typeof deliveries>>;
    expect(failed).toMatchObject({ event: 'plan.created', attempts: 3, responseStatus: 500 });
    const attempts = receiver.at('/fail');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(new Set([failed.id]));
  });

  it('counts no answer within the timeout as a failed attempt, and retries it', async () => {
    const { webhook } = await create('/silent', ['plan.created']);
    await server.gql(`mutation { createBudgetPlan(input: { name: "Silent FY", fiscalYear: 2033 }) { id } }`, {}, admin);
    const [failed] = await eventually(async () => {
      const log = await deliveries(webhook.id);
      return log.length === 1 && log[0].status === 'FAILED' ? log : null;
    }, 'the delivery to fail for good', 30_000) as Awaited<ReturnType<typeof deliveries>>;
    expect(failed).toMatchObject({ attempts: 3, responseStatus: null });
    expect(receiver.at('/silent')).toHaveLength(3);
  });

  it('stops the pending deliveries of a deleted webhook, with activity entries for both', async () => {
    const { webhook } = await create('/switch', ['plan.created']);
    receiver.state.switchOk = false;
    await server.gql(`mutation { createBudgetPlan(input: { name: "Deleted FY", fiscalYear: 2034 }) { id } }`, {}, admin);
    await eventually(() => receiver.at('/switch').length >= 1, 'a first attempt');
    const del = await server.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.id }, admin);
    expect(del.data.deleteWebhook).toBe(true);
    const seen = receiver.at('/switch').length;
    const deliveryId = receiver.at('/switch')[0].headers['webhook-id'];
    // The retry it had scheduled runs, finds no delivery, and does nothing; no job is left for it. (A job
    // already running when it was deleted may finish its one request.)
    await eventually(async () => {
      const [{ n }] = await server.sql(
        `select count(*)::int as n from pgboss.job where name = 'webhook-delivery' and data->>'deliveryId' = $1 and state in ('created', 'retry', 'active')`,
        [deliveryId],
      );
      return n === 0;
    }, 'no job left for the deleted delivery');
    expect(receiver.at('/switch').length).toBeLessThanOrEqual(seen + 1);
    expect(await server.sql('select count(*)::int as n from webhook_delivery where webhook_id = $1', [webhook.id])).toEqual([{ n: 0 }]);
    expect(errorCode(await server.gql(DELIVERIES, { id: webhook.id }, admin))).toBe(ErrorCode.NOT_FOUND);
    const actions = await server.sql(`select action, subject from activity_entry where details->>'webhookId' = $1 order by id`, [webhook.id]);
    expect(actions).toEqual([
      { action: 'WEBHOOK_CREATED', subject: receiver.base + '/switch' },
      { action: 'WEBHOOK_DELETED', subject: receiver.base + '/switch' },
    ]);
    expect((await server.gql('{ webhooks { id } }', {}, admin)).data.webhooks.map((w: { id: string }) => w.id)).not.toContain(webhook.id);
  });

  it('refuses unknown events, no events and bad URLs with BAD_USER_INPUT, writing nothing', async () => {
    const before = await server.sql('select count(*)::int as n from webhook');
    for (const [url, events] of [
      [receiver.base + '/ok', ['plan.deleted']],
      [receiver.base + '/ok', []],
      ['ftp://example.com/hook', ['plan.created']],
      ['not a url', ['plan.created']],
    ] as const) {
      expect(errorCode(await server.gql(CREATE, { url, events }, admin)), url).toBe(ErrorCode.BAD_USER_INPUT);
    }
    expect(await server.sql('select count(*)::int as n from webhook')).toEqual(before);
  });

  it('refuses every admin operation to every other role', async () => {
    const { webhook } = await create('/ok', ['plan.created']);
    for (const email of ROLES) {
      const token = await server.login(email);
      expect(errorCode(await server.gql(CREATE, { url: receiver.base + '/ok', events: ['plan.created'] }, token)), email).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql('{ webhooks { id } }', {}, token)), email).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(DELIVERIES, { id: webhook.id }, token)), email).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.id }, token)), email).toBe(ErrorCode.FORBIDDEN);
    }
    expect(errorCode(await server.gql('{ webhooks { id } }', {}, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect((await server.gql('{ webhooks { id } }', {}, admin)).data.webhooks.map((w: { id: string }) => w.id)).toContain(webhook.id);
  });
});

describe('webhooks without WEBHOOK_ALLOW_INSECURE', () => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  it('refuses plain http and loopback, private, link-local and IPv4-mapped addresses, and names resolving to them', async () => {
    for (const url of [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://172.16.0.1/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[::127.0.0.1]/hook',
      'https://[::a9fe:a9fe]/hook',
      // IPv4-translated (SIIT, RFC 6145): a translator in the network delivers it to 169.254.169.254.
      'https://[::ffff:0:a9fe:a9fe]/hook',
      'https://[fe80::1]/hook',
      'https://224.0.0.1/hook',
      'https://localhost/hook',
    ]) {
      const res = await server.gql(CREATE, { url, events: ['plan.created'] }, admin);
      expect(errorCode(res), url).toBe(ErrorCode.BAD_USER_INPUT);
    }
    expect(await server.sql('select count(*)::int as n from webhook')).toEqual([{ n: 0 }]);
  });

  it('refuses at delivery time an address that became internal since creation', async () => {
    // A webhook stored before (as if its name had resolved publicly then): the delivery checks again.
    await server.sql(`insert into webhook (url, events, secret) values ('https://localhost:9/hook', '{plan.created}', 'v1.x.y.z')`);
    const [row] = await server.sql(`select id from webhook`);
    await server.gql(`mutation { createBudgetPlan(input: { name: "Rebound FY", fiscalYear: 2035 }) { id } }`, {}, admin);
    const [delivery] = await eventually(async () => {
      const rows = await server.sql(`select attempts, last_error from webhook_delivery where webhook_id = $1`, [row.id]);
      return rows.length === 1 && rows[0].attempts >= 1 ? rows : null;
    }, 'a first attempt') as { last_error: string }[];
    expect(delivery.last_error).toMatch(/loopback, private or otherwise internal/);
  });
});

describe('webhook deliveries across a restart', () => {
  let server: RestartableServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    server = await restartableServer({ WEBHOOK_ALLOW_INSECURE: 'true', WEBHOOK_RETRY_BASE_SECONDS: '0.5', WEBHOOK_MAX_ATTEMPTS: '30' });
    await server.start();
  });
  afterAll(async () => {
    await server?.destroy();
    await receiver?.close();
  });

  it('delivers after a restart what was pending when the server stopped', async () => {
    const admin = await server.login('admin@example.com');
    const created = await server.gql(CREATE, { url: receiver.base + '/switch', events: ['plan.created'] }, admin);
    const { secret, webhook } = created.data.createWebhook;
    await server.gql(`mutation { createBudgetPlan(input: { name: "Restart FY", fiscalYear: 2036 }) { id } }`, {}, admin);
    await eventually(() => receiver.at('/switch').length >= 1, 'a first, failing attempt');
    expect(await server.stop('SIGTERM')).toBe(0);
    const [pending] = await server.sql(`select status from webhook_delivery where webhook_id = $1`, [webhook.id]);
    expect(pending.status).toBe('PENDING');
    receiver.state.switchOk = true;
    await server.start();
    const token = await server.login('admin@example.com');
    await eventually(async () => {
      const res = await server.gql(DELIVERIES, { id: webhook.id }, token);
      return res.data?.webhookDeliveries[0]?.status === 'SUCCEEDED';
    }, 'the delivery to succeed after the restart', 30_000);
    const attempts = receiver.at('/switch');
    const last = attempts.at(-1)!;
    expect(new Webhook(secret).verify(last.body, last.headers)).toMatchObject({ type: 'plan.created', data: { name: 'Restart FY' } });
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
  });
});

describe('webhooks on two instances of one database', () => {
  let first: TestServer;
  let second: RestartableServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    // Instances of one deployment share their signing key (JWT_PRIVATE_KEY), from which webhook secrets'
    // encryption key is derived: each decrypts the secrets the other stored.
    const keys = await sharedJwtEnv();
    first = await startTestServer({ WEBHOOK_ALLOW_INSECURE: 'true', ...keys });
    second = await restartableServer({ WEBHOOK_ALLOW_INSECURE: 'true', ...keys }, { databaseUrl: first.databaseUrl });
    await second.start();
  });
  afterAll(async () => {
    await second?.destroy();
    await first?.stop();
    await receiver?.close();
  });

  it('delivers each event once, whichever instance made the change, though both take from the outbox', async () => {
    const admin = await first.login('admin@example.com');
    const otherAdmin = await second.login('admin@example.com');
    const created = await first.gql(CREATE, { url: receiver.base + '/ok', events: ['plan.created'] }, admin);
    expect(created.errors).toBeUndefined();
    const names = Array.from({ length: 12 }, (_, i) => `Twin FY ${i}`);
    const answers = await Promise.all(
      names.map((name, i) =>
        (i % 2 ? second : first).gql(`mutation($n: String!) { createBudgetPlan(input: { name: $n, fiscalYear: 2050 }) { id } }`, { n: name }, i % 2 ? otherAdmin : admin),
      ),
    );
    expect(answers.map((a) => a.errors)).toEqual(names.map(() => undefined));
    await eventually(async () => {
      const [{ n }] = await first.sql(`select count(*)::int as n from webhook_delivery where status = 'SUCCEEDED'`);
      return n === names.length;
    }, 'every delivery answered', 20_000);
    const got = receiver.at('/ok').map((r) => JSON.parse(r.body).data.name as string);
    expect(got.sort()).toEqual([...names].sort());
    expect(await first.sql(`select count(*)::int as n from webhook_delivery`)).toEqual([{ n: names.length }]);
  });
});
