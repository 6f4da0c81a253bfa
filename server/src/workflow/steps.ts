/**
 * What each step does. Automatic steps call integrations (outside any transaction) and return their output
 * plus `persist`, the domain rows they create, written in the same transaction that marks the step
 * SUCCEEDED. Manual steps check what their JSON schema cannot (`INPUT_HANDLERS`: duplicates, an organisation
 * the person may pick) and may change the domain when the input is given. Who may do what is asked of
 * policies/ (`authorize`, `can`), never decided here.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { BudgetLine } from '../budget/BudgetLine.js';
import { BudgetPlan } from '../budget/BudgetPlan.js';
import { BudgetSubmission, type SubmissionStatus } from '../budget/BudgetSubmission.js';
import { PLAN_CLOSED } from '../budget/budgetLineWriter.js';
import { linesOfExecution, recordReview, versionOfExecution } from '../budget/submissionVersions.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { AccessGrant } from '../directory/AccessGrant.js';
import { Organization } from '../directory/Organization.js';
import { StudioCompany } from '../directory/StudioCompany.js';
import { SystemGroup, type GroupTool } from '../directory/SystemGroup.js';
import { User } from '../directory/User.js';
import { badUserInput, forbidden } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize, can } from '../policies/authorize.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import type { Viewer } from '../policies/viewer.js';
import { IntegrationError, type BudgetRow, type Integrations } from './adapters/types.js';
import { confirmOffboarding, OFFBOARDING_STEPS, organizationLeaving } from './offboarding.js';
import type { StepExecution } from './StepExecution.js';
import type { WorkflowExecution } from './WorkflowExecution.js';

export interface StepRunInput {
  execution: WorkflowExecution;
  step: StepExecution;
  /** Input and output of every step of the execution, by key. */
  inputs: ReadonlyMap<string, any>;
  outputs: ReadonlyMap<string, any>;
  integrations: Integrations;
  /** For reads outside the step's transaction. */
  em: EntityManager;
}

export interface StepRunResult {
  output: Record<string, unknown>;
  /** SKIPPED when the step had nothing to do (publishing a rejected budget). */
  status?: 'SUCCEEDED' | 'SKIPPED';
  persist?: (tx: EntityManager, execution: WorkflowExecution) => Promise<void>;
  /** Submission status the step set, published after commit so open grids learn their rights. */
  submissionStatus?: SubmissionStatus;
  /** People whose tokens the step ended (a deactivation): told after commit, so their open sockets close. */
  revokeTokensOf?: string[];
}

type StepRunner = (input: StepRunInput) => Promise<StepRunResult>;

/** Side effects of a manual input on the domain, written with the step's success. */
export interface InputEffect {
  output: Record<string, unknown>;
  persist?: (tx: EntityManager, execution: WorkflowExecution) => Promise<void>;
  submissionStatus?: SubmissionStatus;
}

type InputHandler = (em: EntityManager, viewer: Viewer, execution: WorkflowExecution, input: any) => Promise<InputEffect>;

// ---------------------------------------------------------------------------------------------------------
// new_partner

const organizationName = (execution: WorkflowExecution) => String(execution.input?.organizationName ?? '').trim();

async function groupOf(em: EntityManager, organizationId: string | undefined, tool: GroupTool): Promise<SystemGroup> {
  const group = organizationId ? await em.findOne(SystemGroup, { organization: organizationId, tool }) : null;
  if (!group?.externalId) throw new IntegrationError(`The organisation has no ${tool} group yet (run new_partner first)`);
  return group;
}

function addGroup(tool: GroupTool, name: string, externalId: string) {
  return async (tx: EntityManager, execution: WorkflowExecution) => {
    tx.create(SystemGroup, { organization: execution.organization!, tool, name, externalId });
  };
}

const newPartnerSteps: Record<string, StepRunner> = {
  async trigger_infrabot({ execution, inputs, integrations, em }) {
    const name = organizationName(execution);
    const companies = inputs.get('input_studio_companies').companies as { name: string; environment: 'test' | 'prod' }[];
    // Its name was free when the run started and stays claimed by it (directory/organizationNames.ts), but an
    // organisation may have been renamed to it since: stop before Infrabot or Studio hears of a second one.
    const taken = await em.execute('SELECT 1 FROM organization WHERE lower(name) = lower(?) LIMIT 1', [name]);
    if (taken.length > 0) {
      throw new Error(`An organisation named "${name}" already exists: cancel this run, or rename that organisation and retry this step`);
    }
    const { runId } = await integrations.infrabot.provisionOrganization(name);
    const created: { name: string; environment: 'test' | 'prod'; companyId: string }[] = [];
    for (const company of companies) {
      const { companyId } = await integrations.studio.createCompany(name, company);
      created.push({ ...company, companyId });
    }
    return {
      output: { infrabotRunId: runId, studioCompanies: created },
      persist: async (tx, exec) => {
        const organization = tx.create(Organization, { name });
        exec.organization = organization;
        for (const c of created) {
          tx.create(StudioCompany, { organization, name: c.name, environment: c.environment, externalId: c.companyId });
        }
      },
    };
  },
  async clone_metabase_collection({ execution, integrations }) {
    return { output: await integrations.metabase.cloneCollection(organizationName(execution)) };
  },
  async create_metabase_group({ execution, integrations }) {
    const name = `${organizationName(execution)} analysts`;
    const { groupId } = await integrations.metabase.createGroup(organizationName(execution));
    return { output: { groupId, name }, persist: addGroup('metabase', name, groupId) };
  },
  async grant_metabase_db_access({ outputs, integrations }) {
    const { groupId } = outputs.get('create_metabase_group');
    const { collectionId } = outputs.get('clone_metabase_collection');
    await integrations.metabase.grantDatabaseAccess(groupId, collectionId);
    return { output: { groupId, collectionId, granted: true } };
  },
  async create_teams_channel({ execution, integrations }) {
    const { teamId, channelId } = await integrations.teams.createChannel(organizationName(execution));
    return { output: { teamId, channelId }, persist: addGroup('teams', organizationName(execution), `${teamId}/${channelId}`) };
  },
  async create_slack_group({ execution, integrations }) {
    const { groupId } = await integrations.slack.createUserGroup(organizationName(execution));
    return { output: { groupId }, persist: addGroup('slack', organizationName(execution), groupId) };
  },
  async lms_setup({ execution, integrations }) {
    const { tenantId } = await integrations.lms.setupTenant(organizationName(execution));
    return { output: { tenantId }, persist: addGroup('lms', organizationName(execution), tenantId) };
  },
};

// ---------------------------------------------------------------------------------------------------------
// new_partner_user

const person = (inputs: ReadonlyMap<string, any>) => inputs.get('input_user_details') as { email: string; displayName: string };

async function newUser(em: EntityManager, inputs: ReadonlyMap<string, any>): Promise<User> {
  const user = await em.findOne(User, { email: person(inputs).email.toLowerCase() });
  if (!user) throw new IntegrationError('The user was not created by an earlier step');
  return user;
}

function grant(system: string, resource: string, email: string) {
  return async (tx: EntityManager) => {
    const user = await tx.findOneOrFail(User, { email: email.toLowerCase() });
    tx.create(AccessGrant, { user, system, resource });
  };
}

const newPartnerUserSteps: Record<string, StepRunner> = {
  async add_user_to_studio_companies({ execution, inputs, integrations, em }) {
    const { email, displayName } = person(inputs);
    // Taken since the input step, or taken outside the requester's organisation (which the input step may not
    // tell them): stop before any integration hears of this address, without saying more to the requester.
    if (await em.count(User, { email: email.toLowerCase() })) {
      throw new Error('This person cannot be added through this request: an administrator has to review it');
    }
    // Offboarded, or being offboarded, since the organisation was chosen: nobody joins it any more.
    if (await organizationLeaving(em, execution.organization!.id)) throw new Error(`${execution.organization!.name} is offboarded: nobody can be added to it`);
    const companies = await em.find(StudioCompany, { organization: execution.organization!.id, owner: null }, { orderBy: { name: 'asc' } });
    for (const company of companies) await integrations.studio.addUserToCompany(email, company.externalId ?? company.id);
    return {
      output: { companies: companies.map((c) => c.name) },
      persist: async (tx, exec) => {
        const user = tx.create(User, {
          email: email.toLowerCase(),
          displayName,
          role: 'PARTNER_USER',
          organization: exec.organization,
        });
        for (const company of companies) tx.create(AccessGrant, { user, system: 'studio', resource: company.name });
      },
    };
  },
  async add_user_to_metabase_group({ execution, inputs, integrations, em }) {
    const group = await groupOf(em, execution.organization?.id, 'metabase');
    await integrations.metabase.addUserToGroup(person(inputs).email, group.externalId!);
    return { output: { groupId: group.externalId }, persist: grant('metabase', group.name, person(inputs).email) };
  },
  async add_user_to_teams_channel({ execution, inputs, integrations, em }) {
    const group = await groupOf(em, execution.organization?.id, 'teams');
    const [teamId] = group.externalId!.split('/');
    const { email, displayName } = person(inputs);
    const { userId } = await integrations.teams.inviteUser(email, displayName);
    await integrations.teams.addMember(teamId, userId);
    return { output: { teamId, userId }, persist: grant('teams', group.name, email) };
  },
  async add_user_to_slack_group({ execution, inputs, integrations, em }) {
    const group = await groupOf(em, execution.organization?.id, 'slack');
    await integrations.slack.addUserToGroup(person(inputs).email, group.externalId!);
    return { output: { groupId: group.externalId }, persist: grant('slack', group.name, person(inputs).email) };
  },
  async create_studio_user_company({ execution, inputs, integrations, em }) {
    const { email, displayName } = person(inputs);
    // Unique within the organisation: two people may share a display name.
    const name = `${displayName} (${email.toLowerCase()})`;
    const { companyId } = await integrations.studio.createUserCompany(email, name);
    const user = await newUser(em, inputs);
    return {
      output: { companyId, name },
      persist: async (tx, exec) => {
        tx.create(StudioCompany, { organization: exec.organization!, owner: tx.getReference(User, user.id), name, environment: 'prod', externalId: companyId });
        tx.create(AccessGrant, { user: tx.getReference(User, user.id), system: 'studio', resource: name });
      },
    };
  },
  async send_studio_invite({ inputs, integrations }) {
    return { output: await integrations.studio.sendInvite(person(inputs).email) };
  },
  async share_documentation({ execution, inputs, integrations, em }) {
    const group = await groupOf(em, execution.organization?.id, 'lms');
    await integrations.lms.shareDocumentation(person(inputs).email, group.externalId!);
    return { output: { tenantId: group.externalId }, persist: grant('lms', group.name, person(inputs).email) };
  },
};

// ---------------------------------------------------------------------------------------------------------
// budget_submission

async function unitLines(em: EntityManager, execution: WorkflowExecution): Promise<BudgetLine[]> {
  return em.find(BudgetLine, { plan: execution.plan!.id, businessUnit: execution.businessUnit!.id }, { orderBy: { position: 'asc' }, populate: ['plan', 'businessUnit'] });
}

const budgetSubmissionSteps: Record<string, StepRunner> = {
  async validate_budget({ execution, em }) {
    const lines = await unitLines(em, execution);
    const sum = (xs: (number | null)[]) => xs.reduce<number>((a, x) => a + (x ?? 0), 0);
    const missingBudget = lines.filter((l) => l.budgetAmount === null).length;
    return {
      output: {
        lines: lines.length,
        missingBudgetAmount: missingBudget,
        missingForecastSales: lines.filter((l) => l.forecastSales === null).length,
        totalBudgetAmount: sum(lines.map((l) => l.budgetAmount)),
        totalForecastSales: sum(lines.map((l) => l.forecastSales)),
        totalPriorYearActual: sum(lines.map((l) => l.priorYearActual)),
        complete: missingBudget === 0,
      },
    };
  },
  async lock_budget({ execution, em }) {
    // The unit was frozen when it was submitted; this records exactly what was frozen, for the review.
    const lines = await unitLines(em, execution);
    return {
      output: { lockedAt: new Date().toISOString(), versions: Object.fromEntries(lines.map((l) => [l.id, l.version])) },
      persist: async (tx, exec) => {
        const submission = await tx.findOneOrFail(BudgetSubmission, { plan: exec.plan!.id, businessUnit: exec.businessUnit!.id });
        if (submission.status !== 'SUBMITTED') throw new IntegrationError(`The submission is ${submission.status}, not SUBMITTED`);
      },
    };
  },
  async publish_to_powerbi({ execution, inputs, integrations, em }) {
    if (inputs.get('finance_review')?.decision !== 'APPROVE') return { status: 'SKIPPED', output: { reason: 'The budget was rejected' } };
    // Exactly the reviewed version: the lines frozen when it was submitted, not the live ones (a unit reopened
    // since may be changing them). A review started before versions were kept publishes the (frozen) lines.
    const frozen = await linesOfExecution(em, execution.id);
    const plan = await em.findOneOrFail(BudgetPlan, { id: execution.plan!.id });
    const unit = await em.findOneOrFail(BusinessUnit, { id: execution.businessUnit!.id });
    const source = frozen ?? (await unitLines(em, execution));
    const rows: BudgetRow[] = source.map((l) => ({
      planId: plan.id,
      fiscalYear: plan.fiscalYear,
      businessUnit: unit.code,
      productCategory: l.productCategory,
      region: l.region,
      quarter: l.quarter,
      priorYearActual: l.priorYearActual,
      budgetAmount: l.budgetAmount,
      forecastSales: l.forecastSales,
      comment: l.comment,
    }));
    // The push first, then the refresh: both are safe to repeat on a retry (a push adds rows with a newer
    // publishedAt that supersede the earlier ones; a second refresh reads the same feed).
    const powerBi = integrations.powerBi;
    const output = {
      ...(frozen ? { publishedVersion: await versionOfExecution(em, execution.id) } : {}),
      rows: rows.length,
      totalBudgetAmount: rows.reduce((sum, r) => sum + (r.budgetAmount ?? 0), 0),
      ...(powerBi.pushBudgetRows ? await powerBi.pushBudgetRows(rows) : {}),
      ...(powerBi.refreshDataset ? await powerBi.refreshDataset() : {}),
    };
    return { output };
  },
  async notify_business_unit({ execution, inputs, integrations }) {
    const review = inputs.get('finance_review') as { decision: string; comment?: string };
    const verdict = review.decision === 'APPROVE' ? 'approved' : 'rejected and open for changes again';
    const message = `Your budget was ${verdict}${review.comment ? `: ${review.comment}` : '.'}`;
    const { messageId } = await integrations.notifications.notifyBusinessUnit(execution.businessUnit!.code, message);
    return { output: { messageId, message } };
  },
};

export const STEP_RUNNERS: Record<string, StepRunner> = {
  ...newPartnerSteps,
  ...newPartnerUserSteps,
  ...budgetSubmissionSteps,
  ...OFFBOARDING_STEPS,
};

// ---------------------------------------------------------------------------------------------------------
// Manual inputs beyond their JSON schema

/** FORBIDDEN when the plan is closed: a review decides nothing in it until the plan is reopened. */
async function refuseClosedPlan(em: EntityManager, planId: string, lockMode?: LockMode.PESSIMISTIC_READ): Promise<void> {
  const plan = await em.findOneOrFail(BudgetPlan, { id: planId }, { fields: ['status'], ...(lockMode ? { lockMode } : {}) });
  if (!isPlanOpen(plan.status)) throw forbidden(`${PLAN_CLOSED}: reopen the plan before approving or rejecting one of its budgets`);
}

export const INPUT_HANDLERS: Record<string, InputHandler> = {
  async input_studio_companies(_em, _viewer, _execution, input) {
    const seen = new Set<string>();
    for (const c of input.companies as { name: string; environment: string }[]) {
      // Stored and sent to Studio as shown: "Acme Prod " and "Acme Prod" are one company.
      c.name = c.name.trim();
      const key = `${c.name.toLowerCase()}/${c.environment}`;
      if (seen.has(key)) throw badUserInput(`The company "${c.name}" (${c.environment}) is listed twice`, 'companies');
      seen.add(key);
    }
    return { output: { companies: input.companies.length } };
  },

  async select_organization(em, viewer, _execution, input) {
    if (!isUuid(input.organizationId)) throw badUserInput('organizationId must be an organisation id', 'organizationId');
    authorize(viewer, 'start', 'WorkflowDefinition', { definitionKey: 'new_partner_user', organizationId: input.organizationId }, () =>
      'You may add people to your own organisation only',
    );
    const organization = await em.findOne(Organization, { id: input.organizationId });
    if (!organization) throw badUserInput('No such organisation', 'organizationId');
    if (await organizationLeaving(em, organization.id)) throw badUserInput(`${organization.name} is offboarded: nobody can be added to it`, 'organizationId');
    return {
      output: { organizationName: organization.name },
      persist: async (tx, execution) => {
        execution.organization = tx.getReference(Organization, organization.id);
      },
    };
  },

  async input_user_details(em, viewer, _execution, input) {
    const email = String(input.email).trim().toLowerCase();
    // Whether an address has an account is told only to who may see that account: admins, and a partner admin
    // for their own organisation. Any other taken address is accepted here like a free one, and the run stops
    // at the step that would create the account (add_user_to_studio_companies), before any integration call.
    const existing = await em.findOne(User, { email });
    if (existing && can(viewer, 'read', 'User', { id: existing.id, organizationId: existing.organization?.id ?? null })) {
      throw badUserInput('Someone with this email already has an account', 'email');
    }
    input.email = email;
    return { output: { email } };
  },

  // The offboardings' yes (the schema asks for `confirm: true`): the output keeps what it confirmed.
  async confirm_offboarding(_em, _viewer, execution) {
    return confirmOffboarding(execution);
  },
  async confirm_partner_offboarding(_em, _viewer, execution) {
    return confirmOffboarding(execution);
  },

  async finance_review(em, viewer, execution, input) {
    // A closed plan is read-only on every path (reopenSubmission and withdrawSubmission refuse it too): an approval
    // or rejection there changed a closed year's figures' status, and a rejection made a unit "editable" in a plan
    // that refuses every edit. Refused before anything is written: the step keeps waiting for the plan to reopen.
    await refuseClosedPlan(em, execution.plan!.id);
    const status = input.decision === 'APPROVE' ? 'APPROVED' : 'REJECTED';
    const comment = typeof input.comment === 'string' && input.comment.trim() !== '' ? input.comment.trim() : null;
    return {
      output: { submissionStatus: status },
      submissionStatus: status,
      persist: async (tx) => {
        // Again in the decision's transaction, holding the plan's row against a close committing meanwhile
        // (setBudgetPlanStatus takes it FOR UPDATE): the decision and the close are ordered, never interleaved.
        await refuseClosedPlan(tx, execution.plan!.id, LockMode.PESSIMISTIC_READ);
        const submission = await tx.findOneOrFail(BudgetSubmission, { plan: execution.plan!.id, businessUnit: execution.businessUnit!.id });
        const reviewedAt = new Date();
        submission.status = status;
        // The outcome of the version under review, shown where the unit works, until it is submitted again.
        submission.reviewComment = comment;
        submission.reviewedBy = tx.getReference(User, viewer.userId);
        submission.reviewedAt = reviewedAt;
        await recordReview(tx, execution.id, { status, reviewedById: viewer.userId, reviewedAt, comment });
      },
    };
  },
};
