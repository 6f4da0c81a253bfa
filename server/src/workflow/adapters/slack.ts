/**
 * Slack through the official Web API client (@slack/web-api) with a bot token (SLACK_BOT_TOKEN; scopes
 * usergroups:read, usergroups:write, users:read, users:read.email). Each partner organisation gets a user group
 * named after it (its mention handle made from the name); each partner user is added to it by their address.
 *
 * Every call is safe to repeat (the engine retries a step after a transient failure, and an answer can be lost
 * after Slack acted): a taken name is looked up (usergroups.list, disabled ones included) and reused, enabled
 * again when it was disabled (a handle taken by something else gets a suffix made from the name); adding sets the group's users to their union with the person, so a second add
 * changes nothing; removing someone who is not in the group, and disabling a disabled or unknown group, are done.
 * Slack keeps no empty user group: removing its last member disables it instead, and adding someone to a
 * disabled group enables it again.
 *
 * The client's own retries are off (and a 429 is not waited out inside the call): the engine's retry is the
 * one that counts, with the step's attempts and history. Rate limits, 5xx, Slack's transient errors and no
 * answer within PROVISIONING_TIMEOUT_SECONDS are `TransientIntegrationError`; the rest `IntegrationError`.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, LogLevel, WebClient, type WebAPICallError } from '@slack/web-api';
import type { SlackConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { IntegrationError, TransientIntegrationError, type SlackAdapter } from './types.js';

const SERVICE = 'Slack';

/** Slack's own "try later" errors (ok: false with HTTP 200). */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'ratelimited', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

export function slackAdapter(config: { slack?: SlackConfig }, health?: ApiCallRecorder): SlackAdapter | undefined {
  if (!config.slack) return undefined;
  return new SlackUserGroups(config.slack, health);
}

/** The mention handle for an organisation: lower case letters, digits, - and _ (at most 80). */
export function handleFor(organizationName: string): string {
  const handle = organizationName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return handle || 'partner';
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 6);

interface Usergroup {
  id?: string;
  name?: string;
  handle?: string;
  date_delete?: number;
}

export class SlackUserGroups implements SlackAdapter {
  private readonly client: WebClient;

  constructor(
    config: SlackConfig,
    private readonly health?: ApiCallRecorder,
  ) {
    this.client = new WebClient(config.botToken, {
      slackApiUrl: config.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: config.timeoutMs,
      // Only slackApiUrl: a method name is never a URL of its own.
      allowAbsoluteUrls: false,
      // Failures reach the step's error and the health; the client's own console lines would only repeat them.
      logLevel: LogLevel.ERROR,
    });
  }

  /**
   * One Web API method; platform errors in `accept` resolve as `{ refused: error }`. Every outcome is reported
   * to the health recorder (an accepted refusal counts as a success).
   */
  private async call<T>(method: string, args: Record<string, unknown>, accept: string[] = []): Promise<{ ok?: T; refused?: string }> {
    try {
      const ok = (await this.client.apiCall(method, args)) as T;
      this.health?.record(SERVICE, true);
      return { ok };
    } catch (err) {
      const e = err as WebAPICallError;
      if (e.code === ErrorCode.PlatformError && accept.includes(e.data.error)) {
        this.health?.record(SERVICE, true);
        return { refused: e.data.error };
      }
      const mapped = mapError(method, err);
      this.health?.record(SERVICE, false, mapped.message);
      throw mapped;
    }
  }

  async createUserGroup(organizationName: string): Promise<{ groupId: string }> {
    const name = organizationName.trim();
    const handle = handleFor(name);
    const created = await this.create(name, handle);
    if (created.groupId) return { groupId: created.groupId };
    // Taken: most likely our own earlier attempt whose answer was lost, or a group disabled at an offboarding.
    const found = await this.findByName(name);
    if (found) return found;
    // Only the handle is taken, by another group (another organisation's name made the same handle) or by a
    // channel or a person: the handle gets a suffix made from the name, the same on every attempt.
    const second = await this.create(name, `${handle.slice(0, 72)}-${shortHash(name)}`);
    if (second.groupId) return { groupId: second.groupId };
    const again = await this.findByName(name);
    if (again) return again;
    throw new IntegrationError(`${SERVICE} says the user group name "${name}" or its handle (@${handle}) is taken, but no user group has that name`);
  }

  private async create(name: string, handle: string): Promise<{ groupId?: string }> {
    const created = await this.call<{ usergroup?: Usergroup }>(
      'usergroups.create',
      { name, handle, description: `Plansync partner ${name}` },
      ['name_already_exists', 'name_taken', 'handle_already_exists', 'handle_taken'],
    );
    if (!created.ok) return {};
    const id = created.ok.usergroup?.id;
    if (!id) throw new IntegrationError(`${SERVICE} created the user group "${name}" but returned no id`);
    return { groupId: id };
  }

  /** The user group of this name (disabled ones included, and enabled again). */
  private async findByName(name: string): Promise<{ groupId: string } | undefined> {
    const list = await this.call<{ usergroups?: Usergroup[] }>('usergroups.list', { include_disabled: true });
    const group = (list.ok?.usergroups ?? []).find((g) => g.name?.toLowerCase() === name.toLowerCase());
    if (!group?.id) return undefined;
    if (group.date_delete) await this.call('usergroups.enable', { usergroup: group.id }, ['already_enabled']);
    return { groupId: group.id };
  }

  async addUserToGroup(email: string, groupId: string): Promise<void> {
    const user = await this.call<{ user?: { id?: string } }>('users.lookupByEmail', { email }, ['users_not_found']);
    if (user.refused || !user.ok?.user?.id) {
      throw new IntegrationError(`${email} has no Slack account in this workspace (users.lookupByEmail: users_not_found): invite them to Slack first`);
    }
    const userId = user.ok.user.id;
    const users = await this.members(groupId);
    const group = await this.find(groupId);
    if (group?.date_delete) await this.call('usergroups.enable', { usergroup: groupId }, ['already_enabled']);
    if (users.includes(userId)) return;
    await this.call('usergroups.users.update', { usergroup: groupId, users: [...users, userId].join(',') });
  }

  async removeUserFromGroup(email: string, groupId: string): Promise<void> {
    const user = await this.call<{ user?: { id?: string } }>('users.lookupByEmail', { email }, ['users_not_found']);
    const userId = user.ok?.user?.id;
    if (!userId) return; // no Slack account: in no group
    const users = await this.members(groupId, true);
    if (!users.includes(userId)) return;
    const rest = users.filter((u) => u !== userId);
    if (rest.length === 0) {
      // Slack refuses an empty user list: the group is disabled instead (which removes its members' mentions).
      await this.disableUserGroup(groupId);
      return;
    }
    await this.call('usergroups.users.update', { usergroup: groupId, users: rest.join(',') });
  }

  async disableUserGroup(groupId: string): Promise<void> {
    await this.call('usergroups.disable', { usergroup: groupId }, ['already_disabled', 'no_such_subteam', 'subteam_not_found']);
  }

  /** The group's members (an unknown group: none, when `gone` says that is fine, else an error). */
  private async members(groupId: string, gone = false): Promise<string[]> {
    const listed = await this.call<{ users?: string[] }>('usergroups.users.list', { usergroup: groupId, include_disabled: true }, gone ? ['no_such_subteam', 'subteam_not_found'] : []);
    return listed.ok?.users ?? [];
  }

  private async find(groupId: string): Promise<Usergroup | undefined> {
    const list = await this.call<{ usergroups?: Usergroup[] }>('usergroups.list', { include_disabled: true });
    return (list.ok?.usergroups ?? []).find((g) => g.id === groupId);
  }
}

function mapError(method: string, err: unknown): Error {
  const e = err as WebAPICallError;
  switch (e?.code) {
    case ErrorCode.RateLimitedError:
      return new TransientIntegrationError(`${SERVICE} ${method} answered 429 rate limited (Retry-After: ${e.retryAfter} s)`);
    case ErrorCode.HTTPError:
      return e.statusCode === 429 || e.statusCode >= 500
        ? new TransientIntegrationError(`${SERVICE} ${method} answered ${e.statusCode} ${e.statusMessage}`)
        : new IntegrationError(`${SERVICE} refused ${method}: ${e.statusCode} ${e.statusMessage}`);
    case ErrorCode.RequestError: {
      const original = e.original as Error & { cause?: Error };
      const reason = original?.name === 'TimeoutError' || original?.name === 'AbortError' ? 'no answer in time' : (original?.cause?.message ?? original?.message);
      return new TransientIntegrationError(`${SERVICE} ${method} failed: ${reason}`);
    }
    case ErrorCode.PlatformError: {
      const code = e.data.error;
      const needed = (e.data as { needed?: string }).needed;
      const message = `${SERVICE} refused ${method}: ${code}${needed ? ` (the token needs the ${needed} scope)` : ''}`;
      return TRANSIENT_PLATFORM_ERRORS.has(code) ? new TransientIntegrationError(message) : new IntegrationError(message);
    }
    default:
      return new IntegrationError(`${SERVICE} ${method} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
