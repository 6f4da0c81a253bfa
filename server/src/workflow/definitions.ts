/**
 * The workflows, defined in code: their steps in order, which are manual, the JSON schema of each manual
 * step's input (checked by the server before anything is stored), and who may provide it. What each
 * automatic step does is in `steps.ts`.
 */
import type { JSONSchemaType } from 'ajv';
import type { Role } from '../config.js';
import type { StepKind } from './statuses.js';

export interface StepDefinition {
  key: string;
  name: string;
  kind: StepKind;
  /** For manual steps: the JSON schema of the input a person provides. */
  inputSchema?: object;
  /** For manual steps: roles allowed to provide the input (besides the execution's general drivers). */
  inputRoles?: readonly Role[];
}

export interface WorkflowDefinition {
  key: string;
  name: string;
  description: string;
  /** Schema of the input given to startWorkflow. */
  inputSchema: object;
  steps: readonly StepDefinition[];
  /** False for workflows that only start from another operation (budget_submission from submitBudget). */
  startable: boolean;
}

/** An automatic step: what it does is in `steps.ts`. */
const auto = (key: string, name: string): StepDefinition => ({ key, name, kind: 'AUTO' });

/** A manual step: the input a person gives, checked against `inputSchema`; `inputRoles` may give it too. */
function manual(key: string, name: string, inputSchema: object, inputRoles?: readonly Role[]): StepDefinition {
  // Spelled in this order so the definitions serialise as they always have (the client and tests read them).
  return { key, name, kind: 'MANUAL', ...(inputRoles ? { inputRoles } : {}), inputSchema };
}

/** A closed JSON object schema: these properties, the required ones, nothing else. */
const closedObject = (properties: Record<string, object>, required: string[]) => ({ type: 'object', properties, required, additionalProperties: false });

const companiesSchema: JSONSchemaType<{ companies: { name: string; environment: 'test' | 'prod' }[] }> = {
  type: 'object',
  properties: {
    companies: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        properties: {
          // Something besides spaces: a blank company would be created in Studio (names are trimmed: steps.ts).
          name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
          environment: { type: 'string', enum: ['test', 'prod'] },
        },
        required: ['name', 'environment'],
        additionalProperties: false,
      },
    },
  },
  required: ['companies'],
  additionalProperties: false,
};

export const NEW_PARTNER: WorkflowDefinition = {
  key: 'new_partner',
  name: 'New partner organisation',
  description: 'Creates a partner organisation with its Studio companies, Metabase, Teams, Slack and LMS set-up.',
  startable: true,
  inputSchema: closedObject({ organizationName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } }, ['organizationName']),
  steps: [
    manual('input_studio_companies', 'Enter the Studio companies', companiesSchema),
    auto('trigger_infrabot', 'Provision with Infrabot'),
    auto('clone_metabase_collection', 'Clone the Metabase collection'),
    auto('create_metabase_group', 'Create the Metabase group'),
    auto('grant_metabase_db_access', 'Grant Metabase database access'),
    auto('create_teams_channel', 'Create the Teams channel'),
    auto('create_slack_group', 'Create the Slack group'),
    auto('lms_setup', 'Set up the LMS'),
  ],
};

export const NEW_PARTNER_USER: WorkflowDefinition = {
  key: 'new_partner_user',
  name: 'New partner user',
  description: "Adds a person to a partner organisation and gives them access to the organisation's tools.",
  startable: true,
  inputSchema: { type: 'object', additionalProperties: false },
  steps: [
    manual('select_organization', 'Select the organisation', closedObject({ organizationId: { type: 'string', format: 'uuid' } }, ['organizationId'])),
    manual(
      'input_user_details',
      "Enter the person's details",
      closedObject(
        {
          email: { type: 'string', format: 'email', maxLength: 320 },
          displayName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
        },
        ['email', 'displayName'],
      ),
    ),
    auto('add_user_to_studio_companies', "Add to the organisation's Studio companies"),
    auto('add_user_to_metabase_group', 'Add to the Metabase group'),
    auto('add_user_to_teams_channel', 'Add to the Teams channel'),
    auto('add_user_to_slack_group', 'Add to the Slack group'),
    auto('create_studio_user_company', 'Create their personal Studio company'),
    auto('send_studio_invite', 'Send the Studio invitation'),
    auto('share_documentation', 'Share the documentation'),
  ],
};

export const BUDGET_SUBMISSION: WorkflowDefinition = {
  key: 'budget_submission',
  name: 'Budget submission',
  description: "Validates and locks a unit's budget, has Finance review it, publishes it to Power BI and tells the unit.",
  startable: false,
  inputSchema: { type: 'object' },
  steps: [
    auto('validate_budget', 'Validate the budget'),
    auto('lock_budget', 'Lock the budget'),
    manual(
      'finance_review',
      'Finance review',
      closedObject({ decision: { type: 'string', enum: ['APPROVE', 'REJECT'] }, comment: { type: 'string', maxLength: 2000 } }, ['decision']),
      ['ANALYST', 'ADMIN'],
    ),
    auto('publish_to_powerbi', 'Publish to Power BI'),
    auto('notify_business_unit', 'Notify the business unit'),
  ],
};

/**
 * Offboarding asks for an explicit yes before its first destructive step. What will be removed is listed in
 * the execution's input and in this step's output from the start (workflow/offboarding.ts), so the person
 * confirming sees it in the monitor.
 */
const confirmation = (key: string) =>
  manual(
    key,
    'Confirm the offboarding',
    closedObject({ confirm: { type: 'boolean', const: true, title: 'I confirm: remove this access now (it cannot be undone)' } }, ['confirm']),
  );

export const OFFBOARD_PARTNER_USER: WorkflowDefinition = {
  key: 'offboard_partner_user',
  name: 'Offboard a partner user',
  description: "Removes a partner organisation's person from every tool that gave them access, then deactivates them in Plansync.",
  startable: true,
  inputSchema: closedObject({ userId: { type: 'string', format: 'uuid', title: 'Person' } }, ['userId']),
  steps: [
    confirmation('confirm_offboarding'),
    auto('remove_from_studio_companies', 'Remove from the Studio companies (and archive their own)'),
    auto('remove_from_metabase_group', 'Remove from the Metabase group'),
    auto('remove_from_teams_channel', 'Remove from the Teams channel'),
    auto('remove_from_slack_group', 'Remove from the Slack group'),
    auto('revoke_documentation', 'Withdraw the documentation'),
    auto('deactivate_in_plansync', 'Deactivate them in Plansync'),
  ],
};

export const OFFBOARD_PARTNER: WorkflowDefinition = {
  key: 'offboard_partner',
  name: 'Offboard a partner organisation',
  description: "Offboards every person of a partner organisation, then closes the organisation's Studio companies, Metabase, Teams, Slack, LMS and Infrabot set-up.",
  startable: true,
  inputSchema: closedObject({ organizationId: { type: 'string', format: 'uuid', title: 'Organisation' } }, ['organizationId']),
  steps: [
    confirmation('confirm_partner_offboarding'),
    auto('remove_everyone_from_studio', 'Remove everyone from the Studio companies'),
    auto('remove_everyone_from_metabase', 'Remove everyone from the Metabase group'),
    auto('remove_everyone_from_teams', 'Remove everyone from the Teams channel'),
    auto('remove_everyone_from_slack', 'Remove everyone from the Slack group'),
    auto('revoke_everyones_documentation', "Withdraw everyone's documentation"),
    auto('deactivate_everyone', 'Deactivate everyone in Plansync'),
    auto('archive_studio_companies', 'Archive the Studio companies'),
    auto('close_metabase', 'Delete the Metabase group and archive its collection'),
    auto('archive_teams_channel', 'Archive the Teams channel'),
    auto('disable_slack_group', 'Disable the Slack group'),
    auto('close_lms_tenant', 'Close the LMS tenant'),
    auto('deprovision_infrabot', 'Deprovision with Infrabot'),
    auto('mark_organization_offboarded', 'Mark the organisation offboarded'),
  ],
};

export const WORKFLOWS: readonly WorkflowDefinition[] = [NEW_PARTNER, NEW_PARTNER_USER, BUDGET_SUBMISSION, OFFBOARD_PARTNER_USER, OFFBOARD_PARTNER];

export function workflowDefinition(key: string): WorkflowDefinition | undefined {
  return WORKFLOWS.find((w) => w.key === key);
}

export function stepDefinition(workflow: WorkflowDefinition, stepKey: string): StepDefinition | undefined {
  return workflow.steps.find((s) => s.key === stepKey);
}
