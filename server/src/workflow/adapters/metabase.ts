/**
 * Metabase through its REST API, with an API key (x-api-key header) of the Admin group: each partner
 * organisation gets a collection (a copy of the template collection's questions and dashboards), a permissions
 * group named after it that may query the configured database and edit its collection, and each partner user is
 * a member of that group (invited as a Metabase user when they have no account yet).
 *
 * Every call is safe to repeat, because the engine retries a step after a transient failure and an answer can be
 * lost after Metabase acted:
 * - the collection and the group are looked up by name before they are created (and again when Metabase says the
 *   name is taken); the template's items already in the partner's collection (same name and kind) are skipped;
 * - the grants are written only when the permission graphs do not already hold them (a revision conflict,
 *   someone else's change in between, is read again and retried once);
 * - a user already in the group, a user who is not (removal), a group or collection that is gone, count as done.
 *
 * Permissions use the graph format of Metabase 50 and later (view-data / create-queries). Template items are the
 * questions, models, metrics and dashboards directly in the template collection (not its sub-collections);
 * dashboards are deep-copied (their questions copied with them), before the questions, so a question a dashboard
 * brought along is not copied a second time.
 */
import type { MetabaseConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { callServiceApi, type ServiceApiError } from './serviceApi.js';
import { IntegrationError, TransientIntegrationError, type MetabaseAdapter } from './types.js';

const SERVICE = 'Metabase';

/** The data access a partner's group gets on METABASE_DATABASE_ID (Metabase 50+ graph values). */
export const PARTNER_DATA_ACCESS = { 'view-data': 'unrestricted', 'create-queries': 'query-builder' } as const;

export function metabaseAdapter(config: { metabase?: MetabaseConfig }, health?: ApiCallRecorder): MetabaseAdapter | undefined {
  if (!config.metabase) return undefined;
  return new MetabaseApi(config.metabase, health);
}

interface Item {
  id: number;
  name: string;
  model: string;
}
interface Group {
  id: number;
  name: string;
}
interface Member {
  membership_id: number;
  user_id?: number;
  email?: string;
}

const notFound = (e: ServiceApiError) => e.status === 404;
const nameTaken = (e: ServiceApiError) => (e.status === 400 || e.status === 409) && /already exists|already in use|already taken|unique/i.test(e.message);
const CARD_MODELS = new Set(['card', 'dataset', 'metric']);

export class MetabaseApi implements MetabaseAdapter {
  constructor(
    private readonly config: MetabaseConfig,
    private readonly health?: ApiCallRecorder,
  ) {}

  private call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, accept?: (e: ServiceApiError) => boolean) {
    return callServiceApi<T>({
      service: SERVICE,
      method,
      url: `${this.config.url}${path}`,
      headers: { 'x-api-key': this.config.apiKey },
      body,
      timeoutMs: this.config.timeoutMs,
      accept,
      health: this.health,
    });
  }

  private async items(collection: number | 'root', models?: string): Promise<Item[]> {
    const { ok } = await this.call<{ data?: Item[] } | Item[]>('GET', `/api/collection/${collection}/items${models ? `?models=${models}` : ''}`);
    // Metabase answers { data, total } (older versions: the array itself).
    return (Array.isArray(ok) ? ok : (ok?.data ?? [])) as Item[];
  }

  async cloneCollection(organizationName: string): Promise<{ collectionId: string }> {
    const name = organizationName.trim();
    const parent = this.config.parentCollectionId;
    const findCollection = async () =>
      (await this.items(parent ?? 'root', 'collection')).find((i) => i.model === 'collection' && i.name.toLowerCase() === name.toLowerCase());
    let collection = await findCollection();
    if (!collection) {
      const created = await this.call<{ id: number }>('POST', '/api/collection', { name, parent_id: parent ?? null, description: `Plansync partner ${name}` }, nameTaken);
      collection = created.ok ? { id: created.ok.id, name, model: 'collection' } : await findCollection();
      if (!collection) throw new IntegrationError(`${SERVICE} says the collection name "${name}" is taken, but no such collection is where partners' collections go`);
    }
    const target = collection.id;

    const template = (await this.items(this.config.templateCollectionId)).filter((i) => i.model === 'dashboard' || CARD_MODELS.has(i.model));
    const present = async () => new Set((await this.items(target)).map((i) => `${i.model === 'dashboard' ? 'dashboard' : 'card'}:${i.name.toLowerCase()}`));
    let existing = await present();
    for (const dashboard of template.filter((i) => i.model === 'dashboard')) {
      if (existing.has(`dashboard:${dashboard.name.toLowerCase()}`)) continue;
      await this.call('POST', `/api/dashboard/${dashboard.id}/copy`, { name: dashboard.name, collection_id: target, is_deep_copy: true });
    }
    // The questions the dashboards brought along are there now.
    existing = await present();
    for (const card of template.filter((i) => CARD_MODELS.has(i.model))) {
      if (existing.has(`card:${card.name.toLowerCase()}`)) continue;
      const { ok: source } = await this.call<Record<string, unknown>>('GET', `/api/card/${card.id}`);
      const copy: Record<string, unknown> = { collection_id: target };
      for (const key of ['name', 'type', 'description', 'display', 'dataset_query', 'visualization_settings', 'parameters', 'parameter_mappings', 'result_metadata']) {
        if (source?.[key] !== undefined && source[key] !== null) copy[key] = source[key];
      }
      await this.call('POST', '/api/card', copy);
    }
    return { collectionId: String(target) };
  }

  async createGroup(organizationName: string): Promise<{ groupId: string }> {
    const name = organizationName.trim();
    const find = async () => {
      const { ok } = await this.call<Group[]>('GET', '/api/permissions/group');
      return (ok ?? []).find((g) => g.name.toLowerCase() === name.toLowerCase());
    };
    const existing = await find();
    if (existing) return { groupId: String(existing.id) };
    const created = await this.call<Group>('POST', '/api/permissions/group', { name }, nameTaken);
    const group = created.ok ?? (await find());
    if (!group?.id) throw new IntegrationError(`${SERVICE} says the group name "${name}" is taken, but no group has it`);
    return { groupId: String(group.id) };
  }

  async grantDatabaseAccess(groupId: string, collectionId: string): Promise<void> {
    const group = metabaseId(groupId, 'group');
    const collection = metabaseId(collectionId, 'collection');
    const database = this.config.databaseId;

    await this.updateGraph('/api/permissions/graph', `/api/permissions/graph/db/${database}`, (groups) => {
      const current = (groups[group] as Record<string, Record<string, unknown>> | undefined)?.[database];
      const has = Object.entries(PARTNER_DATA_ACCESS).every(([k, v]) => current?.[k] === v);
      return has ? undefined : { [group]: { [database]: { ...PARTNER_DATA_ACCESS } } };
    });
    await this.updateGraph('/api/collection/graph', '/api/collection/graph', (groups) => {
      const current = (groups[group] as Record<string, unknown> | undefined)?.[collection];
      return current === 'write' ? undefined : { [group]: { [collection]: 'write' } };
    });
  }

  /**
   * Reads a permission graph (`read`: the part that matters, the data graph of one database) and, when `change`
   * returns the groups' part to write, writes it to `path` with the revision read (a partial graph: only what
   * changes). Someone else's change in between (409, the revision is stale) is read again and retried once.
   */
  private async updateGraph(path: string, read: string, change: (groups: Record<string, unknown>) => Record<string, unknown> | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { ok } = await this.call<{ revision: number; groups: Record<string, unknown> }>('GET', read);
      const groups = change(ok?.groups ?? {});
      if (!groups) return;
      const put = await this.call('PUT', path, { revision: ok?.revision ?? 0, groups }, (e) => e.status === 409);
      if (!put.refused) return;
      if (attempt >= 2) throw new TransientIntegrationError(`${SERVICE} PUT ${path}: the permissions changed under us twice (revision conflict): ${put.refused.message}`);
    }
  }

  async addUserToGroup(email: string, groupId: string): Promise<void> {
    const group = metabaseId(groupId, 'group');
    const members = await this.members(group);
    const address = email.trim().toLowerCase();
    if (members?.some((m) => m.email?.toLowerCase() === address)) return;
    if (!members) throw new IntegrationError(`${SERVICE} has no group ${group} to add ${email} to`);
    const userId = await this.userFor(address);
    if (members.some((m) => m.user_id === userId)) return;
    await this.call('POST', '/api/permissions/membership', { group_id: group, user_id: userId }, (e) => nameTaken(e) || /already a member/i.test(e.message));
  }

  async removeUserFromGroup(email: string, groupId: string): Promise<void> {
    const members = await this.members(metabaseId(groupId, 'group'));
    const address = email.trim().toLowerCase();
    for (const member of (members ?? []).filter((m) => m.email?.toLowerCase() === address)) {
      await this.call('DELETE', `/api/permissions/membership/${member.membership_id}`, undefined, notFound);
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.call('DELETE', `/api/permissions/group/${metabaseId(groupId, 'group')}`, undefined, notFound);
  }

  async archiveCollection(collectionId: string): Promise<void> {
    await this.call('PUT', `/api/collection/${metabaseId(collectionId, 'collection')}`, { archived: true }, notFound);
  }

  /** The group's members (GET /api/permissions/group/:id), undefined when there is no such group. */
  private async members(group: number): Promise<Member[] | undefined> {
    const found = await this.call<{ members?: Member[] }>('GET', `/api/permissions/group/${group}`, undefined, notFound);
    return found.refused ? undefined : (found.ok?.members ?? []);
  }

  /** The Metabase user with this address: found, reactivated, or invited (POST /api/user sends the invitation). */
  private async userFor(email: string): Promise<number> {
    const find = async (includeDeactivated: boolean) => {
      const { ok } = await this.call<{ data?: { id: number; email: string; is_active?: boolean }[] }>(
        'GET',
        `/api/user?query=${encodeURIComponent(email)}${includeDeactivated ? '&include_deactivated=true' : ''}`,
      );
      const users = Array.isArray(ok) ? ok : (ok?.data ?? []);
      return users.find((u: { email: string }) => u.email.toLowerCase() === email) as { id: number; is_active?: boolean } | undefined;
    };
    const active = await find(false);
    if (active) return active.id;
    const created = await this.call<{ id: number }>('POST', '/api/user', { email }, nameTaken);
    if (created.ok?.id) return created.ok.id;
    // The address is taken: a deactivated account (an earlier offboarding), or one created by a lost answer.
    const known = await find(true);
    if (!known) throw new IntegrationError(`${SERVICE} says ${email} is in use, but no user has that address`);
    if (known.is_active === false) await this.call('PUT', `/api/user/${known.id}/reactivate`, undefined);
    return known.id;
  }
}

function metabaseId(value: string, what: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw new IntegrationError(`"${value}" is not a Metabase ${what} id`);
  return Number(value);
}
