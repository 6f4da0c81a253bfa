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
          name: { type: 'string', minLength: 1, maxLength: 200 },
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

export const WORKFLOWS: readonly WorkflowDefinition[] = [NEW_PARTNER, NEW_PARTNER_USER, BUDGET_SUBMISSION];

export function workflowDefinition(key: string): WorkflowDefinition | undefined {
  return WORKFLOWS.find((w) => w.key === key);
}

export function stepDefinition(workflow: WorkflowDefinition, stepKey: string): StepDefinition | undefined {
  return workflow.steps.find((s) => s.key === stepKey);
}
