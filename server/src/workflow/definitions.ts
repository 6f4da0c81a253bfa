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
  inputSchema: {
    type: 'object',
    properties: { organizationName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
    required: ['organizationName'],
    additionalProperties: false,
  },
  steps: [
    { key: 'input_studio_companies', name: 'Enter the Studio companies', kind: 'MANUAL', inputSchema: companiesSchema },
    { key: 'trigger_infrabot', name: 'Provision with Infrabot', kind: 'AUTO' },
    { key: 'clone_metabase_collection', name: 'Clone the Metabase collection', kind: 'AUTO' },
    { key: 'create_metabase_group', name: 'Create the Metabase group', kind: 'AUTO' },
    { key: 'grant_metabase_db_access', name: 'Grant Metabase database access', kind: 'AUTO' },
    { key: 'create_teams_channel', name: 'Create the Teams channel', kind: 'AUTO' },
    { key: 'create_slack_group', name: 'Create the Slack group', kind: 'AUTO' },
    { key: 'lms_setup', name: 'Set up the LMS', kind: 'AUTO' },
  ],
};

export const NEW_PARTNER_USER: WorkflowDefinition = {
  key: 'new_partner_user',
  name: 'New partner user',
  description: "Adds a person to a partner organisation and gives them access to the organisation's tools.",
  startable: true,
  inputSchema: { type: 'object', additionalProperties: false },
  steps: [
    {
      key: 'select_organization',
      name: 'Select the organisation',
      kind: 'MANUAL',
      inputSchema: {
        type: 'object',
        properties: { organizationId: { type: 'string', format: 'uuid' } },
        required: ['organizationId'],
        additionalProperties: false,
      },
    },
    {
      key: 'input_user_details',
      name: "Enter the person's details",
      kind: 'MANUAL',
      inputSchema: {
        type: 'object',
        properties: {
          email: { type: 'string', format: 'email', maxLength: 320 },
          displayName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
        },
        required: ['email', 'displayName'],
        additionalProperties: false,
      },
    },
    { key: 'add_user_to_studio_companies', name: "Add to the organisation's Studio companies", kind: 'AUTO' },
    { key: 'add_user_to_metabase_group', name: 'Add to the Metabase group', kind: 'AUTO' },
    { key: 'add_user_to_teams_channel', name: 'Add to the Teams channel', kind: 'AUTO' },
    { key: 'add_user_to_slack_group', name: 'Add to the Slack group', kind: 'AUTO' },
    { key: 'create_studio_user_company', name: 'Create their personal Studio company', kind: 'AUTO' },
    { key: 'send_studio_invite', name: 'Send the Studio invitation', kind: 'AUTO' },
    { key: 'share_documentation', name: 'Share the documentation', kind: 'AUTO' },
  ],
};

export const BUDGET_SUBMISSION: WorkflowDefinition = {
  key: 'budget_submission',
  name: 'Budget submission',
  description: "Validates and locks a unit's budget, has Finance review it, publishes it to Power BI and tells the unit.",
  startable: false,
  inputSchema: { type: 'object' },
  steps: [
    { key: 'validate_budget', name: 'Validate the budget', kind: 'AUTO' },
    { key: 'lock_budget', name: 'Lock the budget', kind: 'AUTO' },
    {
      key: 'finance_review',
      name: 'Finance review',
      kind: 'MANUAL',
      inputRoles: ['ANALYST', 'ADMIN'],
      inputSchema: {
        type: 'object',
        properties: {
          decision: { type: 'string', enum: ['APPROVE', 'REJECT'] },
          comment: { type: 'string', maxLength: 2000 },
        },
        required: ['decision'],
        additionalProperties: false,
      },
    },
    { key: 'publish_to_powerbi', name: 'Publish to Power BI', kind: 'AUTO' },
    { key: 'notify_business_unit', name: 'Notify the business unit', kind: 'AUTO' },
  ],
};

export const WORKFLOWS: readonly WorkflowDefinition[] = [NEW_PARTNER, NEW_PARTNER_USER, BUDGET_SUBMISSION];

export function workflowDefinition(key: string): WorkflowDefinition | undefined {
  return WORKFLOWS.find((w) => w.key === key);
}

export function stepDefinition(workflow: WorkflowDefinition, stepKey: string): StepDefinition | undefined {
  return workflow.steps.find((s) => s.key === stepKey);
}
