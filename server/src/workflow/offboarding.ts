/**
 * Offboarding: `offboard_partner_user` (a person of a partner organisation) and `offboard_partner` (a whole
 * organisation). Both start by listing what they will remove (`prepareOffboarding`, at start: into the
 * execution's input and the confirmation step's output, so the monitor shows it before anyone confirms), wait
 * for that confirmation, and only then remove anything.
 *
 * - A person's access is what their AccessGrant rows say: one automatic step per system removes each grant
 *   there (a Studio company of the organisation, their own company, which is archived too; the Metabase
 *   group; the Teams channel; the Slack group; the LMS documentation). Each removal deletes its grant and
 *   writes one ACCESS_REMOVED activity entry, in the transaction that marks the step SUCCEEDED: a retried step
 *   calls the systems again (their removals are idempotent: removing what is gone succeeds) and records
 *   nothing twice, as a grant is removed, and recorded, once.
 * - Then the person is deactivated in Plansync exactly as `deactivateUser` does (directory/people.ts): sign-in
 *   and tokens stop at once, and their open sockets close once the step is committed (TOKENS_REVOKED).
 * - `offboard_partner` does this for every person of the organisation, then closes the organisation's own
 *   set-up in each system (PARTNER_GROUP_CLOSED entries) and marks it offboarded (ORGANIZATION_OFFBOARDED).
 *
 * Who may start which, for whom, is asked of policies/ (`authorize`); the rules are in workflowExecution.ts.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity, type Actor } from '../activity/activityLog.js';
import { AccessGrant } from '../directory/AccessGrant.js';
import { Organization } from '../directory/Organization.js';
import { deactivatePerson, keepAnActiveAdmin } from '../directory/people.js';
import { StudioCompany } from '../directory/StudioCompany.js';
import { SystemGroup, type GroupTool } from '../directory/SystemGroup.js';
import { User } from '../directory/User.js';
import { badUserInput, conflict } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import type { Viewer } from '../policies/viewer.js';
import { IntegrationError, type Integrations } from './adapters/types.js';
import { StepExecution } from './StepExecution.js';
import type { StepRunInput, StepRunResult } from './steps.js';
import { WorkflowExecution } from './WorkflowExecution.js';

export const OFFBOARDING_WORKFLOWS: readonly string[] = ['offboard_partner_user', 'offboard_partner'];

/** The confirmation step of each offboarding workflow. */
export const CONFIRMATION_STEPS: Record<string, string> = {
  offboard_partner_user: 'confirm_offboarding',
  offboard_partner: 'confirm_partner_offboarding',
};

/** One access of a person, as the monitor lists it. */
interface GrantLine {
  system: string;
  name: string;
}

/** What an offboarding will remove, worked out at its start. */
export interface PreparedOffboarding {
  organizationId: string;
  /** The execution's input: what was given, plus what it will remove. */
  input: Record<string, unknown>;
  /** The confirmation step's output while it waits: the same list. */
  confirmationOutput: Record<string, unknown>;
}

/** A person's grants, in the order the steps remove them. */
async function grantLines(em: EntityManager, userId: string): Promise<GrantLine[]> {
  const grants = await em.find(AccessGrant, { user: userId }, { orderBy: { system: 'asc', resource: 'asc' } });
  return grants.map((g) => ({ system: g.system, name: g.resource }));
}

async function unfinished(em: EntityManager, definitionKey: string, field: string, value: string): Promise<boolean> {
  const rows = await em
    .getConnection()
    .execute(
      `SELECT 1 FROM workflow_execution WHERE definition_key = ? AND input->>? = ? AND status NOT IN ('COMPLETED', 'CANCELLED') LIMIT 1`,
      [definitionKey, field, value],
    );
  return rows.length > 0;
}

/**
 * Whether no one may be added to the organisation any more: it is offboarded, or its offboarding has started
 * (new_partner_user refuses it then: steps.ts).
 */
export async function organizationLeaving(em: EntityManager, organizationId: string): Promise<boolean> {
  const organization = await em.findOne(Organization, { id: organizationId }, { fields: ['offboardedAt'] });
  return Boolean(organization?.offboardedAt) || (await unfinished(em, 'offboard_partner', 'organizationId', organizationId));
}

/**
 * Checks an offboarding's start and lists what it will remove. `offboard_partner_user`: a person of a partner
 * organisation, and a partner admin names people of their own organisation only (FORBIDDEN otherwise, whether
 * or not the id names anyone: the answer tells nothing about other organisations). `offboard_partner`: an
 * organisation that is not offboarded yet. One unfinished offboarding per person or organisation (CONFLICT).
 */
export async function prepareOffboarding(em: EntityManager, viewer: Viewer, definitionKey: string, given: Record<string, unknown>): Promise<PreparedOffboarding> {
  if (definitionKey === 'offboard_partner_user') {
    const userId = String(given.userId);
    const user = isUuid(userId) ? await em.findOne(User, { id: userId, deletedAt: null }, { populate: ['organization'] }) : null;
    // '' names no organisation: a partner admin is refused it like another organisation's.
    authorize(viewer, 'start', 'WorkflowDefinition', { definitionKey, organizationId: user?.organization?.id ?? '' }, () =>
      'You may offboard people of your own organisation only',
    );
    if (!user) throw badUserInput('No such person', 'userId');
    if (!user.organization) throw badUserInput('Only people of a partner organisation are offboarded: deactivate anyone else from the People page', 'userId');
    if (user.id === viewer.userId) throw badUserInput('You cannot offboard yourself', 'userId');
    if (user.role === 'ADMIN') throw badUserInput('An admin is not offboarded: change their role first', 'userId');
    if (await unfinished(em, definitionKey, 'userId', user.id)) throw conflict(`${user.email} is already being offboarded`);
    const toRemove = await grantLines(em, user.id);
    const person = { email: user.email, displayName: user.displayName, organizationName: user.organization.name };
    return {
      organizationId: user.organization.id,
      input: { userId: user.id, ...person, toRemove },
      confirmationOutput: { ...person, toRemove, thenDeactivate: user.email },
    };
  }
  const organizationId = String(given.organizationId);
  const organization = isUuid(organizationId) ? await em.findOne(Organization, { id: organizationId }) : null;
  authorize(viewer, 'start', 'WorkflowDefinition', { definitionKey, organizationId: organization?.id ?? '' });
  if (!organization) throw badUserInput('No such organisation', 'organizationId');
  if (organization.offboardedAt) throw badUserInput(`${organization.name} was offboarded already`, 'organizationId');
  if (await unfinished(em, definitionKey, 'organizationId', organization.id)) throw conflict(`${organization.name} is already being offboarded`);
  // A person being added meanwhile could keep access that nobody lists: those runs end first.
  const adding = await em.count(WorkflowExecution, { definitionKey: 'new_partner_user', organization: organization.id, status: { $nin: ['COMPLETED', 'CANCELLED'] } });
  if (adding > 0) throw conflict(`${organization.name} has ${adding === 1 ? 'a person' : `${adding} people`} being added (new_partner_user): finish or cancel that first`);
  const users = await em.find(User, { organization: organization.id, deletedAt: null }, { orderBy: { email: 'asc' } });
  const people = [];
  for (const user of users) people.push({ email: user.email, displayName: user.displayName, toRemove: await grantLines(em, user.id) });
  const groups = (await em.find(SystemGroup, { organization: organization.id, closedAt: null })).sort((a, b) => a.tool.localeCompare(b.tool));
  const companies = await em.find(StudioCompany, { organization: organization.id, closedAt: null }, { orderBy: { name: 'asc' } });
  const toClose = [
    ...companies.map((c) => ({ system: 'studio', name: `${c.name} (${c.environment})` })),
    ...groups.map((g) => ({ system: g.tool, name: g.name })),
    { system: 'infrabot', name: organization.name },
  ];
  const summary = { organizationName: organization.name, people, toClose };
  return { organizationId: organization.id, input: { organizationId: organization.id, ...summary }, confirmationOutput: summary };
}

// ---------------------------------------------------------------------------------------------------------
// Running the steps

/** Who the activity entries name: whoever started the offboarding. */
async function requesterOf(em: EntityManager, execution: WorkflowExecution): Promise<Actor | null> {
  if (!execution.requestedBy) return null;
  const user = await em.findOne(User, { id: execution.requestedBy.id }, { fields: ['email'] });
  return user ? { userId: user.id, email: user.email } : null;
}

/** The people an execution offboards: the one person, or everyone of the organisation. */
async function peopleOf(em: EntityManager, execution: WorkflowExecution): Promise<User[]> {
  if (execution.definitionKey === 'offboard_partner_user') {
    return em.find(User, { id: String(execution.input?.userId) }, { populate: ['organization'] });
  }
  return em.find(User, { organization: execution.organization!.id }, { populate: ['organization'], orderBy: { email: 'asc' } });
}

async function groupOf(em: EntityManager, organizationId: string, tool: GroupTool): Promise<SystemGroup> {
  const group = await em.findOne(SystemGroup, { organization: organizationId, tool });
  if (!group?.externalId) throw new IntegrationError(`The organisation has no ${tool} group to remove people from`);
  return group;
}

interface RemovalContext {
  em: EntityManager;
  integrations: Integrations;
  user: User;
  grant: AccessGrant;
}

/** Removes one grant in its system; may return Studio companies it archived (a person's own). */
type Remover = (c: RemovalContext) => Promise<{ archived?: StudioCompany[] } | void>;

const REMOVERS: Record<string, Remover> = {
  async studio({ em, integrations, user, grant }) {
    const companies = await em.find(StudioCompany, { organization: user.organization!.id, name: grant.resource });
    if (companies.length === 0) throw new IntegrationError(`The Studio company ${grant.resource} is not known any more`);
    const archived: StudioCompany[] = [];
    for (const company of companies) {
      const companyId = company.externalId ?? company.id;
      await integrations.studio.removeUserFromCompany(user.email, companyId);
      // Their own company goes with them.
      if (company.owner?.id === user.id) {
        await integrations.studio.archiveCompany(companyId);
        archived.push(company);
      }
    }
    return { archived };
  },
  async metabase({ em, integrations, user }) {
    const group = await groupOf(em, user.organization!.id, 'metabase');
    await integrations.metabase.removeUserFromGroup(user.email, group.externalId!);
  },
  async teams({ em, integrations, user }) {
    const group = await groupOf(em, user.organization!.id, 'teams');
    const [teamId] = group.externalId!.split('/');
    await integrations.teams.removeMember(teamId, user.email);
  },
  async slack({ em, integrations, user }) {
    const group = await groupOf(em, user.organization!.id, 'slack');
    await integrations.slack.removeUserFromGroup(user.email, group.externalId!);
  },
  async lms({ em, integrations, user }) {
    const group = await groupOf(em, user.organization!.id, 'lms');
    await integrations.lms.revokeDocumentation(user.email, group.externalId!);
  },
};

/**
 * The step that removes the people's grants of one system: each removed there, then, with the step's success,
 * each grant deleted and its removal recorded. Nothing to remove: SKIPPED.
 */
function removeGrants(system: string) {
  return async ({ execution, integrations, em }: StepRunInput): Promise<StepRunResult> => {
    const people = await peopleOf(em, execution);
    const removed: { email: string; name: string; grantId: string; userId: string }[] = [];
    const archived: StudioCompany[] = [];
    for (const user of people) {
      const grants = await em.find(AccessGrant, { user: user.id, system }, { orderBy: { resource: 'asc' } });
      for (const grant of grants) {
        const result = await REMOVERS[system]({ em, integrations, user, grant });
        if (result?.archived) archived.push(...result.archived);
        removed.push({ email: user.email, name: grant.resource, grantId: grant.id, userId: user.id });
      }
    }
    if (removed.length === 0) return { status: 'SKIPPED', output: { reason: `No access to remove in ${system}` } };
    const actor = await requesterOf(em, execution);
    return {
      output: {
        removed: removed.map(({ email, name }) => ({ email, name })),
        ...(archived.length > 0 ? { archivedCompanies: archived.map((c) => c.name) } : {}),
      },
      persist: async (tx, exec) => {
        // Locked and read again: a grant another run removed meanwhile is neither deleted nor recorded twice.
        const still = await tx.find(AccessGrant, { id: { $in: removed.map((r) => r.grantId) } }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const present = new Set(still.map((g) => g.id));
        for (const r of removed) {
          if (!present.has(r.grantId)) continue;
          recordActivity(tx, actor, 'ACCESS_REMOVED', r.email, { system, name: r.name, executionId: exec.id });
        }
        if (still.length > 0) await tx.nativeDelete(AccessGrant, { id: { $in: [...present] } });
        const now = new Date();
        for (const company of archived) {
          const row = await tx.findOne(StudioCompany, { id: company.id });
          if (row && !row.closedAt) row.closedAt = now;
        }
      },
    };
  };
}

/** Deactivates the people in Plansync (directory/people.ts); their sockets close once committed. */
async function deactivateAll({ execution, em }: StepRunInput): Promise<StepRunResult> {
  const people = (await peopleOf(em, execution)).filter((u) => !u.deletedAt);
  const actor = await requesterOf(em, execution);
  const inactive = people.filter((u) => !u.active).map((u) => u.email);
  return {
    output: { deactivated: people.filter((u) => u.active).map((u) => u.email), ...(inactive.length > 0 ? { alreadyInactive: inactive } : {}) },
    revokeTokensOf: people.map((u) => u.id),
    persist: async (tx, exec) => {
      for (const person of people) {
        const user = await tx.findOneOrFail(User, { id: person.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        await keepAnActiveAdmin(tx, user, 'offboard');
        await deactivatePerson(tx, actor, user, { executionId: exec.id, workflow: exec.definitionKey });
      }
    },
  };
}

/**
 * The step that closes the organisation's group in one tool (its Metabase group, Teams channel, Slack group,
 * LMS tenant): `close` in the system, then the group marked closed and recorded. No open group: SKIPPED.
 */
function closeGroup(tool: GroupTool, close: (integrations: Integrations, externalId: string, em: EntityManager, execution: WorkflowExecution) => Promise<Record<string, unknown>>) {
  return async ({ execution, integrations, em }: StepRunInput): Promise<StepRunResult> => {
    const group = await em.findOne(SystemGroup, { organization: execution.organization!.id, tool });
    if (!group?.externalId || group.closedAt) return { status: 'SKIPPED', output: { reason: `The organisation has no open ${tool} group` } };
    const output = { name: group.name, externalId: group.externalId, ...(await close(integrations, group.externalId, em, execution)) };
    const actor = await requesterOf(em, execution);
    return {
      output,
      persist: async (tx, exec) => {
        const row = await tx.findOneOrFail(SystemGroup, { id: group.id });
        if (row.closedAt) return;
        row.closedAt = new Date();
        recordActivity(tx, actor, 'PARTNER_GROUP_CLOSED', execution.organization!.name, { system: tool, ...output, executionId: exec.id });
      },
    };
  };
}

/** The collection new_partner cloned for the organisation, when its run recorded it. */
async function metabaseCollectionOf(em: EntityManager, organizationId: string): Promise<string | null> {
  const steps = await em.find(
    StepExecution,
    { key: 'clone_metabase_collection', status: 'SUCCEEDED', execution: { organization: organizationId, definitionKey: 'new_partner' } },
    { orderBy: { finishedAt: 'desc' } },
  );
  const id = (steps[0]?.output as { collectionId?: unknown } | null)?.collectionId;
  return typeof id === 'string' ? id : null;
}

export const OFFBOARDING_STEPS: Record<string, (input: StepRunInput) => Promise<StepRunResult>> = {
  // offboard_partner_user
  remove_from_studio_companies: removeGrants('studio'),
  remove_from_metabase_group: removeGrants('metabase'),
  remove_from_teams_channel: removeGrants('teams'),
  remove_from_slack_group: removeGrants('slack'),
  revoke_documentation: removeGrants('lms'),
  deactivate_in_plansync: deactivateAll,

  // offboard_partner: its people first
  remove_everyone_from_studio: removeGrants('studio'),
  remove_everyone_from_metabase: removeGrants('metabase'),
  remove_everyone_from_teams: removeGrants('teams'),
  remove_everyone_from_slack: removeGrants('slack'),
  revoke_everyones_documentation: removeGrants('lms'),
  deactivate_everyone: deactivateAll,

  // then what the organisation itself has
  async archive_studio_companies({ execution, integrations, em }) {
    const companies = await em.find(StudioCompany, { organization: execution.organization!.id, closedAt: null }, { orderBy: { name: 'asc' } });
    if (companies.length === 0) return { status: 'SKIPPED', output: { reason: 'No open Studio company' } };
    for (const company of companies) await integrations.studio.archiveCompany(company.externalId ?? company.id);
    const actor = await requesterOf(em, execution);
    return {
      output: { archived: companies.map((c) => `${c.name} (${c.environment})`) },
      persist: async (tx, exec) => {
        const now = new Date();
        for (const company of companies) {
          const row = await tx.findOne(StudioCompany, { id: company.id });
          if (!row || row.closedAt) continue;
          row.closedAt = now;
          recordActivity(tx, actor, 'PARTNER_GROUP_CLOSED', execution.organization!.name, {
            system: 'studio',
            name: company.name,
            environment: company.environment,
            externalId: company.externalId,
            executionId: exec.id,
          });
        }
      },
    };
  },
  close_metabase: closeGroup('metabase', async (integrations, groupId, em, execution) => {
    await integrations.metabase.deleteGroup(groupId);
    const collectionId = await metabaseCollectionOf(em, execution.organization!.id);
    if (collectionId) await integrations.metabase.archiveCollection(collectionId);
    return collectionId ? { archivedCollectionId: collectionId } : { collection: 'Not known (no new_partner run recorded it): archive it in Metabase by hand' };
  }),
  archive_teams_channel: closeGroup('teams', async (integrations, externalId) => {
    const [teamId, channelId] = externalId.split('/');
    await integrations.teams.archiveChannel(teamId, channelId);
    return {};
  }),
  disable_slack_group: closeGroup('slack', async (integrations, groupId) => {
    await integrations.slack.disableUserGroup(groupId);
    return {};
  }),
  close_lms_tenant: closeGroup('lms', async (integrations, tenantId) => {
    await integrations.lms.closeTenant(tenantId);
    return {};
  }),
  async deprovision_infrabot({ execution, integrations, em }) {
    const output = await integrations.infrabot.deprovisionOrganization(execution.organization!.name);
    const actor = await requesterOf(em, execution);
    return {
      output,
      persist: async (tx, exec) => {
        recordActivity(tx, actor, 'PARTNER_GROUP_CLOSED', execution.organization!.name, { system: 'infrabot', ...output, executionId: exec.id });
      },
    };
  },
  async mark_organization_offboarded({ execution, em }) {
    const actor = await requesterOf(em, execution);
    const offboardedAt = new Date();
    return {
      output: { offboardedAt: offboardedAt.toISOString() },
      persist: async (tx, exec) => {
        const organization = await tx.findOneOrFail(Organization, { id: execution.organization!.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (organization.offboardedAt) return;
        organization.offboardedAt = offboardedAt;
        recordActivity(tx, actor, 'ORGANIZATION_OFFBOARDED', organization.name, { executionId: exec.id });
      },
    };
  },
};

/** The confirmation steps' input: the schema asks for `confirm: true`; the output repeats what is removed. */
export async function confirmOffboarding(execution: WorkflowExecution): Promise<{ output: Record<string, unknown> }> {
  const { userId: _userId, organizationId: _organizationId, ...listed } = execution.input ?? {};
  return { output: { confirmed: true, ...listed } };
}
