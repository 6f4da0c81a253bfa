/**
 * Local stand-ins for the Microsoft Graph and Power BI REST endpoints Plansync's real adapters call, for
 * tests: HTTPS on 127.0.0.1 with a self-signed certificate, trusted by the server under test through
 * NODE_EXTRA_CA_CERTS (`caFile` holds this certificate and the fake authority's, one file for both).
 *
 *   Graph (graphUrl = GRAPH_BASE_URL)
 *     POST /teams/{team}/channels        a standard channel; a taken name answers 409 NameAlreadyExists
 *     GET  /teams/{team}/channels?$filter=displayName eq '...'
 *     POST /invitations                  a guest; the same address again returns the same user
 *     POST /teams/{team}/members         an aadUserConversationMember bound to an invited user; 409 if in
 *     GET  /teams/{team}/members?$filter=(microsoft.graph.aadUserConversationMember/email eq '...')
 *     DELETE /teams/{team}/members/{membership}                            204; 404 when not a member
 *     POST /teams/{team}/channels/{channel}/archive                         202; 400 when archived already
 *   Power BI (powerBiUrl = POWERBI_API_URL)
 *     POST /groups/{group}/datasets/{dataset}/tables/{table}/rows   at most 10,000 rows
 *     POST /groups/{group}/datasets/{dataset}/refreshes              202 Accepted with a RequestId
 *     POST [/groups/{group}]/datasets/{dataset}/executeQueries       the rows of `queryResult` (or its error)
 *
 * Every request must carry an app-only token from the fake authority (signature, issuer, audience of the API,
 * the app's id) and, for Graph, the application permission the real endpoint needs; otherwise it answers
 * 401 or 403 as Microsoft does. Every request is recorded. `fail()` scripts 429, 5xx or 4xx answers.
 * `plainHttp` serves plain http instead, for tests that call an adapter in the test's own process (which
 * cannot be told to trust a self-signed certificate on Node 20).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { FakeEntraAuthority } from './fakeEntraAuthority.js';
import { startSelfSignedHttps } from './selfSignedHttps.js';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const POWER_BI_RESOURCE = 'https://analysis.windows.net/powerbi/api';

export type FakeRoute =
  | 'createChannel'
  | 'listChannels'
  | 'invite'
  | 'addMember'
  | 'listMembers'
  | 'removeMember'
  | 'archiveChannel'
  | 'pushRows' | 'refreshDataset' | 'executeQueries';

/** The Graph application permission each route needs (what the real endpoint's docs list). */
export const GRAPH_PERMISSIONS: Partial<Record<FakeRoute, string>> = {
  createChannel: 'Channel.Create',
  listChannels: 'Channel.ReadBasic.All',
  invite: 'User.Invite.All',
  addMember: 'TeamMember.ReadWrite.All',
  listMembers: 'TeamMember.Read.All',
  removeMember: 'TeamMember.ReadWrite.All',
  archiveChannel: 'ChannelSettings.ReadWrite.All',
};

export interface RecordedRequest {
  route: FakeRoute | 'unknown';
  method: string;
  /** Path and query, below the API's base URL. */
  path: string;
  body: any;
  /** The bearer token as sent, so tests can check it never leaks into messages. */
  token?: string;
  /** The claims of a valid token; undefined when it was missing or invalid. */
  claims?: JWTPayload;
  /** What the fake answered. */
  status: number;
}

export interface ScriptedFailure {
  status: number;
  /** How many calls fail; every one until `clearFailures()` when absent. */
  times?: number;
  /** Retry-After header of the answer. */
  retryAfter?: string;
  /** Do the work, then answer the failure: an answer lost after the service acted. */
  afterEffect?: boolean;
}

export interface FakeMicrosoftApis {
  graphUrl: string;
  powerBiUrl: string;
  /** NODE_EXTRA_CA_CERTS for a server that calls these APIs and the fake authority. */
  caFile: string;
  requests: RecordedRequest[];
  channels: { teamId: string; id: string; displayName: string; membershipType: string; isArchived: boolean }[];
  /** Invited guests: email (lowercase) -> directory user id. */
  invitedUsers: Map<string, string>;
  /** Current team memberships (a removal takes its entry out). */
  members: { teamId: string; userId: string }[];
  /** Every accepted POST .../rows, in order. */
  rowPushes: { groupId: string; datasetId: string; table: string; rows: Record<string, unknown>[] }[];
  /** Every accepted POST .../refreshes, in order. */
  refreshes: { groupId: string; datasetId: string; requestId: string; body: any }[];
  /** Every accepted POST .../executeQueries, in order (groupId null: the call without a workspace). */
  executedQueries: { groupId: string | null; datasetId: string; query: string }[];
  /**
   * What executeQueries answers: 200 with `rows` as the one result table; `error`: 200 with an error in the
   * result (as for a result cut short); `daxError`: 400 DatasetExecuteQueriesError with that detail.
   */
  queryResult: { rows?: Record<string, unknown>[]; error?: { code: string; message: string }; daxError?: string };
  fail(route: FakeRoute, failure: ScriptedFailure): void;
  clearFailures(): void;
  close(): Promise<void>;
}

export interface FakeMicrosoftApisOptions {
  authority: FakeEntraAuthority;
  /** Team ids that exist. */
  teams: string[];
  /** The one push dataset table that exists. */
  powerBi: { groupId: string; datasetId: string; table: string };
  /** The import semantic models that exist (refreshable). */
  semanticModels?: { groupId: string; datasetId: string }[];
  /** Semantic models that answer DAX queries (groupId absent: reachable without a workspace only). */
  queryableModels?: { groupId?: string; datasetId: string }[];
  /** Serve plain http on 127.0.0.1 (see the module comment); `caFile` is then the authority's alone. */
  plainHttp?: boolean;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

const graphError = (status: number, code: string, message: string): Answer => ({
  status,
  body: { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID() } } },
});

/** What each service says for a scripted status. */
function scripted(api: 'graph' | 'powerbi', failure: ScriptedFailure): Answer {
  const headers = failure.retryAfter ? { 'retry-after': failure.retryAfter } : undefined;
  if (failure.status === 429) return { ...graphError(429, 'TooManyRequests', 'Too many requests, retry later.'), headers };
  if (failure.status >= 500) return { ...graphError(failure.status, 'InternalServerError', 'An internal server error occurred.'), headers };
  if (api === 'powerbi') {
    return { status: failure.status, body: { error: { code: 'PowerBINotAuthorizedException', 'pbi.error': { code: 'PowerBINotAuthorizedException', parameters: {}, details: [] } } } };
  }
  return graphError(failure.status, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

export async function startFakeMicrosoftApis(options: FakeMicrosoftApisOptions): Promise<FakeMicrosoftApis> {
  const { authority } = options;
  const authorityCert = await fs.readFile(authority.caFile, 'utf8');

  // The authority's signing keys, fetched once the way any resource server would (trusting its certificate).
  const jwks = createLocalJWKSet(await getJson<JSONWebKeySet>(`${authority.host}/${authority.tenantId}/discovery/v2.0/keys`, authorityCert));

  const requests: RecordedRequest[] = [];
  const channels: FakeMicrosoftApis['channels'] = [];
  const invitedUsers = new Map<string, string>();
  const members: FakeMicrosoftApis['members'] = [];
  const rowPushes: FakeMicrosoftApis['rowPushes'] = [];
  const refreshes: FakeMicrosoftApis['refreshes'] = [];
  const executedQueries: FakeMicrosoftApis['executedQueries'] = [];
  const failures = new Map<FakeRoute, ScriptedFailure>();
  const teams = new Set(options.teams);

  // A subject of its own: the authority's certificate is named 127.0.0.1 and shares the CA file.
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => send(res, { status: 500, body: { error: { code: 'FakeError', message: String(err) } } }));
  };
  const server = options.plainHttp
    ? await startPlainHttp(listener, authority.caFile)
    : await startSelfSignedHttps({ commonName: 'Fake Microsoft APIs', dirPrefix: 'fake-microsoft-', alsoTrust: authorityCert }, listener);
  const { host, caFile } = server;
  const graphUrl = `${host}/v1.0`;
  const powerBiUrl = `${host}/powerbi/v1.0/myorg`;

  function send(res: ServerResponse, answer: Answer) {
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  /** Which route a request is, with its path parameters. */
  function route(method: string, pathname: string): { route: FakeRoute; api: 'graph' | 'powerbi'; params: string[] } | undefined {
    const table: [string, RegExp, FakeRoute, 'graph' | 'powerbi'][] = [
      ['POST', /^\/v1\.0\/teams\/([^/]+)\/channels$/, 'createChannel', 'graph'],
      ['GET', /^\/v1\.0\/teams\/([^/]+)\/channels$/, 'listChannels', 'graph'],
      ['POST', /^\/v1\.0\/invitations$/, 'invite', 'graph'],
      ['POST', /^\/v1\.0\/teams\/([^/]+)\/members$/, 'addMember', 'graph'],
      ['GET', /^\/v1\.0\/teams\/([^/]+)\/members$/, 'listMembers', 'graph'],
      ['DELETE', /^\/v1\.0\/teams\/([^/]+)\/members\/([^/]+)$/, 'removeMember', 'graph'],
      ['POST', /^\/v1\.0\/teams\/([^/]+)\/channels\/([^/]+)\/archive$/, 'archiveChannel', 'graph'],
      ['POST', /^\/powerbi\/v1\.0\/myorg\/groups\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/rows$/, 'pushRows', 'powerbi'],
      ['POST', /^\/powerbi\/v1\.0\/myorg\/groups\/([^/]+)\/datasets\/([^/]+)\/refreshes$/, 'refreshDataset', 'powerbi'],
      ['POST', /^\/powerbi\/v1\.0\/myorg\/groups\/([^/]+)\/datasets\/([^/]+)\/executeQueries$/, 'executeQueries', 'powerbi'],
      ['POST', /^\/powerbi\/v1\.0\/myorg()\/datasets\/([^/]+)\/executeQueries$/, 'executeQueries', 'powerbi'],
    ];
    for (const [m, pattern, name, api] of table) {
      const match = m === method ? pattern.exec(pathname) : null;
      if (match) return { route: name, api, params: match.slice(1).map(decodeURIComponent) };
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', host);
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const matched = route(req.method ?? 'GET', url.pathname);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const api = matched?.api ?? (url.pathname.startsWith('/powerbi/') ? 'powerbi' : 'graph');
    const record: RecordedRequest = {
      route: matched?.route ?? 'unknown',
      method: req.method ?? 'GET',
      path: `${url.pathname.replace(api === 'graph' ? /^\/v1\.0/ : /^\/powerbi\/v1\.0\/myorg/, '')}${url.search}`,
      body,
      token,
      status: 0,
    };
    requests.push(record);
    const answer = await respond(matched, api, token, body, url, record);
    record.status = answer.status;
    send(res, answer);
  }

  async function respond(
    matched: ReturnType<typeof route>,
    api: 'graph' | 'powerbi',
    token: string | undefined,
    body: any,
    url: URL,
    record: RecordedRequest,
  ): Promise<Answer> {
    // Authentication first, as the real services do: a bad token never reaches the scripted failures.
    const audience = api === 'graph' ? GRAPH_RESOURCE : POWER_BI_RESOURCE;
    try {
      if (!token) throw new Error('no bearer token');
      const { payload } = await jwtVerify(token, jwks, { issuer: authority.issuer, audience });
      if (payload.appid !== authority.clientId || payload.idtyp !== 'app') throw new Error('not an app-only token of the app');
      record.claims = payload;
    } catch {
      return api === 'graph'
        ? graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.')
        : { status: 401, body: { error: { code: 'TokenExpired', message: 'Access token is missing, invalid or expired.' } } };
    }
    if (!matched) return graphError(404, 'UnknownError', `No fake for ${record.method} ${url.pathname}`);
    const needed = GRAPH_PERMISSIONS[matched.route];
    if (needed && !(record.claims!.roles as string[] | undefined)?.includes(needed)) {
      return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }

    const failure = failures.get(matched.route);
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) failures.delete(matched.route);
      if (!failure.afterEffect) return scripted(api, failure);
      act(matched, body, url);
      return scripted(api, failure);
    }
    return act(matched, body, url);
  }

  /** The work of each route, as the real service does it. */
  function act(matched: NonNullable<ReturnType<typeof route>>, body: any, url: URL): Answer {
    const [teamId] = matched.params;
    switch (matched.route) {
      case 'createChannel': {
        if (!teams.has(teamId)) return graphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
        if (typeof body?.displayName !== 'string' || !body.displayName.trim()) return graphError(400, 'BadRequest', 'displayName is required');
        if (channels.some((c) => c.teamId === teamId && c.displayName.toLowerCase() === body.displayName.toLowerCase())) {
          return graphError(409, 'NameAlreadyExists', 'Channel name already existed, please use other name.');
        }
        const channel = {
          teamId,
          id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`,
          displayName: body.displayName,
          membershipType: body.membershipType ?? 'standard',
          isArchived: false,
        };
        channels.push(channel);
        return { status: 201, body: { id: channel.id, displayName: channel.displayName, membershipType: channel.membershipType } };
      }
      case 'listChannels': {
        if (!teams.has(teamId)) return graphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
        const name = /^displayName eq '(.*)'$/.exec(url.searchParams.get('$filter') ?? '')?.[1]?.replace(/''/g, "'");
        const value = channels.filter((c) => c.teamId === teamId && (name === undefined || c.displayName === name));
        return { status: 200, body: { value: value.map(({ id, displayName, membershipType }) => ({ id, displayName, membershipType })) } };
      }
      case 'invite': {
        const email = String(body?.invitedUserEmailAddress ?? '').toLowerCase();
        if (!/^[^@\s]+@[^@\s]+$/.test(email) || typeof body?.inviteRedirectUrl !== 'string') {
          return graphError(400, 'BadRequest', 'invitedUserEmailAddress and inviteRedirectUrl are required');
        }
        const userId = invitedUsers.get(email) ?? randomUUID();
        invitedUsers.set(email, userId);
        return {
          status: 201,
          body: {
            id: randomUUID(),
            invitedUserEmailAddress: body.invitedUserEmailAddress,
            invitedUserDisplayName: body.invitedUserDisplayName,
            inviteRedirectUrl: body.inviteRedirectUrl,
            inviteRedeemUrl: `https://login.microsoftonline.com/redeem?rd=${randomBytes(8).toString('hex')}`,
            sendInvitationMessage: body.sendInvitationMessage,
            status: 'PendingAcceptance',
            invitedUser: { id: userId },
          },
        };
      }
      case 'addMember': {
        if (!teams.has(teamId)) return graphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
        const bound = new RegExp(`^${escapeRegExp(graphUrl)}/users\\('([^']+)'\\)$`).exec(body?.['user@odata.bind'] ?? '')?.[1];
        if (body?.['@odata.type'] !== '#microsoft.graph.aadUserConversationMember' || !Array.isArray(body?.roles) || !bound) {
          return graphError(400, 'BadRequest', 'Invalid conversation member');
        }
        if (![...invitedUsers.values()].includes(bound)) return graphError(404, 'NotFound', `User ${bound} not found`);
        if (members.some((m) => m.teamId === teamId && m.userId === bound)) return graphError(409, 'Conflict', 'The user is already a member of the team.');
        members.push({ teamId, userId: bound });
        return { status: 201, body: { '@odata.type': '#microsoft.graph.aadUserConversationMember', id: randomUUID(), roles: body.roles, userId: bound } };
      }
      case 'listMembers': {
        if (!teams.has(teamId)) return graphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
        const filter = url.searchParams.get('$filter');
        const email = /^\(microsoft\.graph\.aadUserConversationMember\/email eq '(.*)'\)$/.exec(filter ?? '')?.[1]?.replace(/''/g, "'");
        if (filter && email === undefined) return graphError(400, 'BadRequest', `Unsupported filter ${filter}`);
        const value = members
          .filter((m) => m.teamId === teamId)
          .map((m) => ({ m, email: emailOf(m.userId) }))
          .filter((x) => email === undefined || x.email?.toLowerCase() === email.toLowerCase())
          .map(({ m, email: address }) => ({
            '@odata.type': '#microsoft.graph.aadUserConversationMember',
            id: membershipId(m),
            roles: [],
            displayName: address,
            userId: m.userId,
            email: address ?? null,
          }));
        return { status: 200, body: { value } };
      }
      case 'removeMember': {
        if (!teams.has(teamId)) return graphError(404, 'NotFound', `No team found with Group Id ${teamId}`);
        const index = members.findIndex((m) => m.teamId === teamId && membershipId(m) === matched.params[1]);
        if (index < 0) return graphError(404, 'NotFound', 'Member not found');
        members.splice(index, 1);
        return { status: 204 };
      }
      case 'archiveChannel': {
        const channel = channels.find((c) => c.teamId === teamId && c.id === matched.params[1]);
        if (!channel) return graphError(404, 'NotFound', `Channel ${matched.params[1]} not found`);
        if (channel.isArchived) return graphError(400, 'BadRequest', 'Channel is already archived.');
        channel.isArchived = true;
        return { status: 202 };
      }
      case 'pushRows': {
        const [groupId, datasetId, table] = matched.params;
        const target = options.powerBi;
        if (groupId !== target.groupId || datasetId !== target.datasetId || table !== target.table) {
          return { status: 404, body: { error: { code: 'ItemNotFound', message: `Table ${table} of dataset ${datasetId} in group ${groupId} is not found` } } };
        }
        if (!Array.isArray(body?.rows) || body.rows.length > 10_000) {
          return { status: 400, body: { error: { code: 'InvalidRequest', message: 'rows must be an array of at most 10000 rows' } } };
        }
        rowPushes.push({ groupId, datasetId, table, rows: body.rows });
        return { status: 200, body: {} };
      }
      case 'refreshDataset': {
        const [groupId, datasetId] = matched.params;
        if (!(options.semanticModels ?? []).some((m) => m.groupId === groupId && m.datasetId === datasetId)) {
          return { status: 404, body: { error: { code: 'ItemNotFound', message: `Dataset ${datasetId} in group ${groupId} is not found` } } };
        }
        if (body !== undefined && (typeof body !== 'object' || !['MailOnFailure', 'MailOnCompletion', 'NoNotification', undefined].includes(body.notifyOption))) {
          return { status: 400, body: { error: { code: 'InvalidRequest', message: 'notifyOption is not valid' } } };
        }
        const requestId = randomUUID();
        refreshes.push({ groupId, datasetId, requestId, body });
        // As Power BI does: accepted, refreshed in the background; the request id in a header, no body.
        return { status: 202, headers: { requestid: requestId, location: `${powerBiUrl}/groups/${groupId}/datasets/${datasetId}/refreshes/${requestId}` } };
      }
      case 'executeQueries': {
        const [groupId, datasetId] = matched.params;
        const model = (options.queryableModels ?? []).find((m) => m.datasetId === datasetId && (groupId === '' || m.groupId === groupId));
        if (!model) return { status: 404, body: { error: { code: 'ItemNotFound', message: `Dataset ${datasetId} is not found` } } };
        const queries = body?.queries;
        if (!Array.isArray(queries) || queries.length !== 1 || typeof queries[0]?.query !== 'string') {
          return { status: 400, body: { error: { code: 'InvalidRequest', message: 'queries must hold exactly one query' } } };
        }
        executedQueries.push({ groupId: groupId || null, datasetId, query: queries[0].query });
        const result = fake.queryResult;
        if (result.daxError) {
          return {
            status: 400,
            body: {
              error: {
                code: 'DatasetExecuteQueriesError',
                'pbi.error': { code: 'DatasetExecuteQueriesError', parameters: {}, details: [{ code: 'DetailsMessage', detail: { type: 1, value: result.daxError } }] },
              },
            },
          };
        }
        if (result.error) return { status: 200, body: { results: [{ tables: [{ rows: [] }], error: result.error }] } };
        const includeNulls = body?.serializerSettings?.includeNulls === true;
        const rows = (result.rows ?? []).map((row) => (includeNulls ? row : Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null))));
        return { status: 200, body: { results: [{ tables: [{ rows }] }] } };
      }
    }
  }

  /** Graph's membership ids are opaque: this one encodes the team and the user. */
  const membershipId = (m: { teamId: string; userId: string }) => Buffer.from(`${m.teamId}|${m.userId}`).toString('base64url');
  const emailOf = (userId: string) => [...invitedUsers].find(([, id]) => id === userId)?.[0];

  const fake: FakeMicrosoftApis = {
    graphUrl,
    powerBiUrl,
    caFile,
    requests,
    channels,
    invitedUsers,
    members,
    rowPushes,
    refreshes,
    executedQueries,
    queryResult: {},
    fail(routeName, failure) {
      failures.set(routeName, { ...failure });
    },
    clearFailures() {
      failures.clear();
    },
    close: () => server.close(),
  };
  return fake;
}

/** The plain http twin of startSelfSignedHttps. */
async function startPlainHttp(listener: (req: IncomingMessage, res: ServerResponse) => void, caFile: string) {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    caFile,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** GET a JSON document over https, trusting one certificate for this request only. */
function getJson<T>(url: string, ca: string): Promise<T> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}
