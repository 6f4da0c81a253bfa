/**
 * A local stand-in for the parts of Metabase's REST API the Metabase adapter calls (shapes of Metabase 50+),
 * for tests: plain http on 127.0.0.1, every request needs `x-api-key` (401 "Unauthenticated" otherwise).
 *
 *   GET  /api/collection/:id|root/items[?models=a,b]   { data: [{ id, name, model }], total }
 *   POST /api/collection  { name, parent_id }          a collection (names are not unique, as in Metabase)
 *   PUT  /api/collection/:id  { archived }             404 when there is none
 *   GET  /api/card/:id;  POST /api/card { name, collection_id, dataset_query, display, ... }
 *   POST /api/dashboard/:id/copy { name, collection_id, is_deep_copy }   deep: its cards copied too
 *   GET  /api/permissions/group;  POST /api/permissions/group { name }  400 when the name exists
 *   GET  /api/permissions/group/:id    { id, name, members: [{ membership_id, user_id, email }] }
 *   DELETE /api/permissions/group/:id  (its memberships and grants with it); 404 when there is none
 *   GET  /api/user?query=..[&include_deactivated=true]   { data, total }
 *   POST /api/user { email }   400 { errors: { email } } when the address is in use;  PUT /api/user/:id/reactivate
 *   POST /api/permissions/membership { group_id, user_id }  400 when a member already;  DELETE .../membership/:id
 *   GET/PUT /api/permissions/graph (GET also /graph/db/:id) and /api/collection/graph   { revision, groups };
 *        a PUT holds only what changes; a stale revision: 409
 *
 * Everything it holds is inspectable, so tests check that a retried call never made a second thing.
 */
import { startFakeHttpService, routeTable, type FakeAnswer, type FakeHttpService } from './fakeHttpService.js';

export interface FakeMetabase extends FakeHttpService {
  apiKey: string;
  collections: { id: number; name: string; parent_id: number | null; archived: boolean }[];
  cards: { id: number; name: string; type: string; collection_id: number | null; dataset_query: unknown; display: string }[];
  dashboards: { id: number; name: string; collection_id: number | null; cardIds: number[] }[];
  groups: { id: number; name: string }[];
  users: { id: number; email: string; is_active: boolean }[];
  memberships: { id: number; group_id: number; user_id: number }[];
  /** Data permissions (v2 graph): group -> database -> { view-data, create-queries }. */
  dataGraph: { revision: number; groups: Record<string, Record<string, Record<string, string>>> };
  collectionGraph: { revision: number; groups: Record<string, Record<string, string>> };
  /** The template collection the tests configure: two questions and a dashboard showing one of them. */
  template: { collectionId: number; databaseId: number };
}

export async function startFakeMetabase(apiKey = 'mb_test_key'): Promise<FakeMetabase> {
  let nextId = 100;
  const id = () => ++nextId;
  const collections: FakeMetabase['collections'] = [];
  const cards: FakeMetabase['cards'] = [];
  const dashboards: FakeMetabase['dashboards'] = [];
  const groups: FakeMetabase['groups'] = [
    { id: 1, name: 'All Users' },
    { id: 2, name: 'Administrators' },
  ];
  const users: FakeMetabase['users'] = [{ id: 1, email: 'admin@metabase.example', is_active: true }];
  const memberships: FakeMetabase['memberships'] = [];
  const dataGraph: FakeMetabase['dataGraph'] = { revision: 1, groups: { '1': { '7': { 'view-data': 'blocked', 'create-queries': 'no' } } } };
  const collectionGraph: FakeMetabase['collectionGraph'] = { revision: 1, groups: { '1': { root: 'none' } } };

  // The template: a collection with two questions and a dashboard that shows the first.
  const template = { id: id(), name: 'Partner template', parent_id: null, archived: false };
  collections.push(template);
  const query = (table: number) => ({ database: 7, type: 'query', query: { 'source-table': table } });
  const revenue = { id: id(), name: 'Revenue by quarter', type: 'question', collection_id: template.id, dataset_query: query(11), display: 'bar' };
  const orders = { id: id(), name: 'Open orders', type: 'question', collection_id: template.id, dataset_query: query(12), display: 'table' };
  cards.push(revenue, orders);
  dashboards.push({ id: id(), name: 'Partner overview', collection_id: template.id, cardIds: [revenue.id] });

  const error = (status: number, message: string): FakeAnswer => ({ status, body: { message } });
  const items = (collection: number | null) => [
    ...collections.filter((c) => c.parent_id === collection && !c.archived).map((c) => ({ id: c.id, name: c.name, model: 'collection' })),
    ...cards.filter((c) => c.collection_id === collection).map((c) => ({ id: c.id, name: c.name, model: c.type === 'model' ? 'dataset' : c.type === 'metric' ? 'metric' : 'card' })),
    ...dashboards.filter((d) => d.collection_id === collection).map((d) => ({ id: d.id, name: d.name, model: 'dashboard' })),
  ];
  const member = (m: FakeMetabase['memberships'][number]) => ({ membership_id: m.id, user_id: m.user_id, email: users.find((u) => u.id === m.user_id)?.email });

  const service = await startFakeHttpService({
    route: routeTable([
      ['GET', /^\/api\/collection\/(root|\d+)\/items$/, 'collectionItems'],
      ['POST', /^\/api\/collection$/, 'createCollection'],
      ['GET', /^\/api\/collection\/graph$/, 'getCollectionGraph'],
      ['PUT', /^\/api\/collection\/graph$/, 'putCollectionGraph'],
      ['PUT', /^\/api\/collection\/(\d+)$/, 'updateCollection'],
      ['GET', /^\/api\/card\/(\d+)$/, 'getCard'],
      ['POST', /^\/api\/card$/, 'createCard'],
      ['POST', /^\/api\/dashboard\/(\d+)\/copy$/, 'copyDashboard'],
      ['GET', /^\/api\/permissions\/group$/, 'listGroups'],
      ['POST', /^\/api\/permissions\/group$/, 'createGroup'],
      ['GET', /^\/api\/permissions\/group\/(\d+)$/, 'getGroup'],
      ['DELETE', /^\/api\/permissions\/group\/(\d+)$/, 'deleteGroup'],
      ['GET', /^\/api\/user$/, 'listUsers'],
      ['POST', /^\/api\/user$/, 'createUser'],
      ['PUT', /^\/api\/user\/(\d+)\/reactivate$/, 'reactivateUser'],
      ['POST', /^\/api\/permissions\/membership$/, 'addMembership'],
      ['DELETE', /^\/api\/permissions\/membership\/(\d+)$/, 'deleteMembership'],
      ['GET', /^\/api\/permissions\/graph$/, 'getDataGraph'],
      ['GET', /^\/api\/permissions\/graph\/db\/(\d+)$/, 'getDataGraphOfDb'],
      ['PUT', /^\/api\/permissions\/graph$/, 'putDataGraph'],
    ]),
    authorise: (req) => (req.headers['x-api-key'] === apiKey ? undefined : { status: 401, body: 'Unauthenticated' }),
    failure: (_route, f) => (f.status === 429 ? { status: 429, body: 'Too many requests' } : f.status >= 500 ? error(f.status, 'Something went wrong') : error(f.status, 'You don’t have permissions to do that.')),
    act(route, [param], body, url) {
      const n = Number(param);
      switch (route) {
        case 'collectionItems': {
          const collection = param === 'root' ? null : n;
          if (collection !== null && !collections.some((c) => c.id === collection)) return error(404, 'Not found.');
          const models = url.searchParams.get('models')?.split(',');
          const data = items(collection).filter((i) => !models || models.includes(i.model));
          return { status: 200, body: { data, total: data.length, models: models ?? [] } };
        }
        case 'createCollection': {
          if (typeof body?.name !== 'string' || !body.name.trim()) return { status: 400, body: { errors: { name: 'value must be a non-blank string.' } } };
          const collection = { id: id(), name: body.name, parent_id: body.parent_id ?? null, archived: false };
          collections.push(collection);
          return { status: 200, body: collection };
        }
        case 'updateCollection': {
          const collection = collections.find((c) => c.id === n);
          if (!collection) return error(404, 'Not found.');
          if (typeof body?.archived === 'boolean') collection.archived = body.archived;
          return { status: 200, body: collection };
        }
        case 'getCard': {
          const card = cards.find((c) => c.id === n);
          return card ? { status: 200, body: { ...card, visualization_settings: {}, description: null, archived: false } } : error(404, 'Not found.');
        }
        case 'createCard': {
          if (typeof body?.name !== 'string' || !body.dataset_query || typeof body.display !== 'string') return { status: 400, body: { errors: { dataset_query: 'value must be a map.' } } };
          const card = { id: id(), name: body.name, type: body.type ?? 'question', collection_id: body.collection_id ?? null, dataset_query: body.dataset_query, display: body.display };
          cards.push(card);
          return { status: 200, body: card };
        }
        case 'copyDashboard': {
          const source = dashboards.find((d) => d.id === n);
          if (!source) return error(404, 'Not found.');
          const collection = body?.collection_id ?? null;
          const cardIds = body?.is_deep_copy
            ? source.cardIds.map((cid) => {
                const card = cards.find((c) => c.id === cid)!;
                const copy = { ...card, id: id(), collection_id: collection };
                cards.push(copy);
                return copy.id;
              })
            : source.cardIds;
          const dashboard = { id: id(), name: body?.name ?? source.name, collection_id: collection, cardIds };
          dashboards.push(dashboard);
          return { status: 200, body: dashboard };
        }
        case 'listGroups':
          return { status: 200, body: groups.map((g) => ({ ...g, member_count: memberships.filter((m) => m.group_id === g.id).length })) };
        case 'createGroup': {
          if (typeof body?.name !== 'string' || !body.name.trim()) return { status: 400, body: { errors: { name: 'value must be a non-blank string.' } } };
          if (groups.some((g) => g.name.toLowerCase() === body.name.toLowerCase())) return error(400, 'A group with that name already exists.');
          const group = { id: id(), name: body.name };
          groups.push(group);
          return { status: 200, body: group };
        }
        case 'getGroup': {
          const group = groups.find((g) => g.id === n);
          return group ? { status: 200, body: { ...group, members: memberships.filter((m) => m.group_id === n).map(member) } } : error(404, 'Not found.');
        }
        case 'deleteGroup': {
          const index = groups.findIndex((g) => g.id === n);
          if (index < 0) return error(404, 'Not found.');
          groups.splice(index, 1);
          for (let i = memberships.length - 1; i >= 0; i--) if (memberships[i].group_id === n) memberships.splice(i, 1);
          delete dataGraph.groups[n];
          delete collectionGraph.groups[n];
          return { status: 204 };
        }
        case 'listUsers': {
          const q = (url.searchParams.get('query') ?? '').toLowerCase();
          const all = url.searchParams.get('include_deactivated') === 'true';
          const data = users.filter((u) => (all || u.is_active) && u.email.toLowerCase().includes(q)).map((u) => ({ ...u, common_name: u.email }));
          return { status: 200, body: { data, total: data.length, limit: null, offset: null } };
        }
        case 'createUser': {
          const email = String(body?.email ?? '').toLowerCase();
          if (!/^[^@\s]+@[^@\s]+$/.test(email)) return { status: 400, body: { errors: { email: 'value must be a valid email address.' } } };
          if (users.some((u) => u.email === email)) return { status: 400, body: { errors: { email: 'Email address already in use.' } } };
          const user = { id: id(), email, is_active: true };
          users.push(user);
          memberships.push({ id: id(), group_id: 1, user_id: user.id });
          return { status: 200, body: user };
        }
        case 'reactivateUser': {
          const user = users.find((u) => u.id === n);
          if (!user) return error(404, 'Not found.');
          if (user.is_active) return { status: 400, body: { errors: { id: 'Not able to reactivate an active user' } } };
          user.is_active = true;
          return { status: 200, body: user };
        }
        case 'addMembership': {
          const group = groups.find((g) => g.id === body?.group_id);
          const user = users.find((u) => u.id === body?.user_id);
          if (!group || !user) return error(404, 'Not found.');
          if (memberships.some((m) => m.group_id === group.id && m.user_id === user.id)) return error(400, 'The user is already a member of the group.');
          memberships.push({ id: id(), group_id: group.id, user_id: user.id });
          return { status: 200, body: memberships.filter((m) => m.group_id === group.id).map(member) };
        }
        case 'deleteMembership': {
          const index = memberships.findIndex((m) => m.id === n);
          if (index < 0) return error(404, 'Not found.');
          memberships.splice(index, 1);
          return { status: 204 };
        }
        case 'getDataGraph':
          return { status: 200, body: structuredClone(dataGraph) };
        case 'getDataGraphOfDb': {
          const groupsOfDb = Object.fromEntries(Object.entries(dataGraph.groups).map(([g, dbs]) => [g, dbs[param] ? { [param]: dbs[param] } : {}]));
          return { status: 200, body: { revision: dataGraph.revision, groups: structuredClone(groupsOfDb) } };
        }
        case 'getCollectionGraph':
          return { status: 200, body: structuredClone(collectionGraph) };
        case 'putDataGraph':
        case 'putCollectionGraph': {
          const graph = route === 'putDataGraph' ? dataGraph : collectionGraph;
          if (body?.revision !== graph.revision) {
            return error(409, 'Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again.');
          }
          for (const [group, entries] of Object.entries((body.groups ?? {}) as Record<string, Record<string, any>>)) {
            if (!groups.some((g) => String(g.id) === group)) return error(400, `Group ${group} does not exist`);
            graph.groups[group] = { ...graph.groups[group], ...entries };
          }
          graph.revision++;
          return { status: 200, body: structuredClone(graph) };
        }
      }
      return error(404, 'Not found.');
    },
  });

  return {
    ...service,
    apiKey,
    collections,
    cards,
    dashboards,
    groups,
    users,
    memberships,
    dataGraph,
    collectionGraph,
    template: { collectionId: template.id, databaseId: 7 },
  };
}
