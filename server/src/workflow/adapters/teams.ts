/**
 * Microsoft Teams through Microsoft Graph, app-only (what HyOpps did): each partner gets a standard channel
 * in one team (TEAMS_TEAM_ID); each partner user is invited as a guest (Graph invitations, User.Invite.All)
 * and then added to the team (TeamMember.ReadWrite.All). Standard channels are open to every team member, so
 * team membership is what gives a person their organisation's channel. Creating the channel needs
 * Channel.Create, and finding it again after a lost answer Channel.ReadBasic.All.
 *
 * Offboarding removes a guest from the team (TeamMember.ReadWrite.All: the membership is found by the guest's
 * address, then deleted) and archives an organisation's channel (ChannelSettings.ReadWrite.All).
 *
 * Every call is safe to repeat, because the engine retries a step after a transient failure and an answer can
 * be lost after Graph acted: a channel whose name is taken is looked up and reused, inviting someone twice
 * returns the same directory user, "already a member" counts as done, and so do removing someone who is not (or
 * no longer) a member and archiving a channel that is archived already or gone.
 */
import type { Config, TeamsConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { callMicrosoftApi, type MicrosoftApiError } from './microsoftApi.js';
import { GRAPH_SCOPE, MicrosoftAppTokens, type AccessTokenSource } from './microsoftToken.js';
import { IntegrationError, type TeamsAdapter } from './types.js';

const SERVICE = 'Microsoft Graph';

/** The real adapter when TEAMS_TEAM_ID is set (config.ts ensures the Entra app is configured then). */
export function teamsAdapter(config: Pick<Config, 'teams' | 'entra'>, health?: ApiCallRecorder): TeamsAdapter | undefined {
  if (!config.teams || !config.entra) return undefined;
  return new GraphTeamsAdapter(config.teams, new MicrosoftAppTokens(config.entra), health);
}

/** Graph answers a taken channel name with 409, or with 400 and a message saying so. */
const nameTaken = (e: MicrosoftApiError) => e.status === 409 || (e.status === 400 && /already exist/i.test(e.message));
/** Removing what is gone is done: the membership, channel or team no longer exists. */
const notFound = (e: MicrosoftApiError) => e.status === 404;
/** Archiving twice: Graph refuses with 400 or 409 and says the channel is archived already. */
const alreadyArchived = (e: MicrosoftApiError) => (e.status === 400 || e.status === 409) && /already archived|is archived/i.test(e.message);
const alreadyMember = (e: MicrosoftApiError) => e.status === 409 || (e.status === 400 && /already (a )?member|already exist/i.test(e.message));

export class GraphTeamsAdapter implements TeamsAdapter {
  constructor(
    private readonly config: TeamsConfig,
    private readonly tokens: AccessTokenSource,
    private readonly health?: ApiCallRecorder,
  ) {}

  private call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, accept?: (e: MicrosoftApiError) => boolean) {
    return callMicrosoftApi<T>({ service: SERVICE, tokens: this.tokens, scope: GRAPH_SCOPE, method, url: `${this.config.graphBaseUrl}${path}`, body, accept, health: this.health });
  }

  private get teamPath() {
    return `/teams/${encodeURIComponent(this.config.teamId)}`;
  }

  async createChannel(organizationName: string): Promise<{ teamId: string; channelId: string }> {
    const created = await this.call<{ id: string }>(
      'POST',
      `${this.teamPath}/channels`,
      { displayName: organizationName, description: `Plansync partner ${organizationName}`, membershipType: 'standard' },
      nameTaken,
    );
    if (created.ok) return { teamId: this.config.teamId, channelId: created.ok.id };
    // Taken: most likely our own earlier attempt whose answer was lost. Reuse that channel.
    const filter = `displayName eq '${organizationName.replace(/'/g, "''")}'`;
    const found = await this.call<{ value: { id: string; displayName: string }[] }>('GET', `${this.teamPath}/channels?$filter=${encodeURIComponent(filter)}`);
    const channel = found.ok?.value.find((c) => c.displayName.toLowerCase() === organizationName.toLowerCase());
    if (!channel) throw new IntegrationError(`${SERVICE} says the channel name "${organizationName}" is taken, but no such channel is in the team`);
    return { teamId: this.config.teamId, channelId: channel.id };
  }

  async inviteUser(email: string, displayName: string): Promise<{ userId: string }> {
    const { ok } = await this.call<{ invitedUser?: { id?: string } }>('POST', '/invitations', {
      invitedUserEmailAddress: email,
      invitedUserDisplayName: displayName,
      inviteRedirectUrl: this.config.inviteRedirectUrl,
      sendInvitationMessage: true,
    });
    const userId = ok?.invitedUser?.id;
    if (!userId) throw new IntegrationError(`${SERVICE} accepted the invitation of ${email} but returned no user id`);
    return { userId };
  }

  async addMember(teamId: string, userId: string): Promise<void> {
    await this.call(
      'POST',
      `/teams/${encodeURIComponent(teamId)}/members`,
      {
        '@odata.type': '#microsoft.graph.aadUserConversationMember',
        roles: [],
        'user@odata.bind': `${this.config.graphBaseUrl}/users('${userId}')`,
      },
      alreadyMember,
    );
  }

  async removeMember(teamId: string, email: string): Promise<void> {
    const team = `/teams/${encodeURIComponent(teamId)}`;
    const address = email.trim().toLowerCase();
    const filter = `(microsoft.graph.aadUserConversationMember/email eq '${address.replace(/'/g, "''")}')`;
    const found = await this.call<{ value?: { id: string; email?: string | null }[] }>('GET', `${team}/members?$filter=${encodeURIComponent(filter)}`, undefined, notFound);
    if (found.refused) return; // no such team any more: nobody left to remove
    const memberships = (found.ok.value ?? []).filter((m) => m.email?.toLowerCase() === address);
    // Usually one; a guest invited twice under two spellings of the address could hold two.
    for (const membership of memberships) {
      await this.call('DELETE', `${team}/members/${encodeURIComponent(membership.id)}`, undefined, notFound);
    }
  }

  async archiveChannel(teamId: string, channelId: string): Promise<void> {
    await this.call('POST', `/teams/${encodeURIComponent(teamId)}/channels/${encodeURIComponent(channelId)}/archive`, undefined, (e) => notFound(e) || alreadyArchived(e));
  }
}
