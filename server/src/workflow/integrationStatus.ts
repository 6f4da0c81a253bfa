/**
 * What the admins' integrations page shows: every outside service Plansync talks to, whether it is set up,
 * and, where this server keeps track, how the last call went. Built from what is already at hand (the
 * configuration, the health of the real adapters' calls (Microsoft, Metabase, Slack, Studio, Infrabot, LMS), the Redis link, the webhook tables); nothing is probed.
 *
 * Out of scope: sign-ins and mails are not tracked call by call (a failed mail is logged and counted in
 * `emailSent`), so Entra and SMTP say only whether they are configured.
 */
import type { Config } from '../config.js';
import { shownError, type IntegrationHealth, type IntegrationService } from './adapters/health.js';

export type IntegrationState = 'NOT_CONFIGURED' | 'SIMULATED' | 'CONFIGURED' | 'OK' | 'FAILING';
export const INTEGRATION_STATES: readonly IntegrationState[] = ['NOT_CONFIGURED', 'SIMULATED', 'CONFIGURED', 'OK', 'FAILING'];

export interface IntegrationStatusRow {
  key: string;
  name: string;
  state: IntegrationState;
  /** What uses it, in a sentence. */
  purpose: string;
  /** Counts and the like, when there are some (webhooks). */
  detail: string | null;
  /** The settings that turn it on (README, "Configuration"), in a sentence. */
  howToConfigure: string;
  lastCallAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/**
 * What the page needs of the webhooks (WebhookService.health, which returns it: declared here because webhooks/
 * sits above workflow/): active ones, deliveries that gave up in the last 24 hours, deliveries waiting for a
 * retry after a failed attempt, and the last attempt and failure across all of them.
 */
export interface WebhookHealth {
  active: number;
  failedLastDay: number;
  retrying: number;
  lastAttemptAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export interface IntegrationSources {
  config: Pick<Config, 'entra' | 'smtp' | 'redisUrl'>;
  health: IntegrationHealth;
  /** Redis link's state, when REDIS_URL is set. */
  redisUp: boolean | undefined;
  webhooks: WebhookHealth;
}

const noCall = { lastCallAt: null, lastError: null, lastErrorAt: null, detail: null };

/** A service whose adapter reports its calls (Microsoft, and the provisioning targets of issue 17). */
function tracked(health: IntegrationHealth, service: IntegrationService): Pick<IntegrationStatusRow, 'state' | 'lastCallAt' | 'lastError' | 'lastErrorAt'> {
  const d = health.details(service);
  return {
    state: d.status.toUpperCase() as IntegrationState,
    lastCallAt: d.lastCallAt ? new Date(d.lastCallAt) : null,
    lastError: d.lastError ?? null,
    lastErrorAt: d.lastErrorAt ? new Date(d.lastErrorAt) : null,
  };
}

function webhookRow(w: WebhookHealth): IntegrationStatusRow {
  const state: IntegrationState =
    w.active === 0 ? 'NOT_CONFIGURED' : w.failedLastDay > 0 || w.retrying > 0 ? 'FAILING' : w.lastAttemptAt ? 'OK' : 'CONFIGURED';
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return {
    key: 'webhooks',
    name: 'Webhooks',
    state,
    purpose: 'Send submission, workflow, plan and import events to other systems, signed (Standard Webhooks).',
    detail: `${plural(w.active, 'active webhook', 'active webhooks')}; ${plural(w.failedLastDay, 'delivery', 'deliveries')} failed in the last 24 hours; ${plural(w.retrying, 'delivery', 'deliveries')} waiting to be retried`,
    howToConfigure: 'Add them on the Webhooks page; WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_BASE_SECONDS and WEBHOOK_TIMEOUT_SECONDS tune the retries.',
    lastCallAt: w.lastAttemptAt,
    lastError: w.lastError === null ? null : shownError(w.lastError),
    lastErrorAt: w.lastErrorAt,
  };
}

/** Every integration, in the order the page lists them. */
export function integrationStatus({ config, health, redisUp, webhooks }: IntegrationSources): IntegrationStatusRow[] {
  return [
    {
      key: 'microsoftGraph',
      name: 'Microsoft Graph',
      purpose: 'Microsoft Teams for partners: the new_partner workflow creates their channel (create_teams_channel), new_partner_user invites each person and adds them to it (add_user_to_teams_channel); offboarding removes them and archives the channel.',
      howToConfigure: 'Set TEAMS_TEAM_ID with the ENTRA_* settings (the app needs Channel.Create, Channel.ReadBasic.All, User.Invite.All, TeamMember.ReadWrite.All, and ChannelSettings.ReadWrite.All for offboarding); simulated without.',
      detail: null,
      ...tracked(health, 'Microsoft Graph'),
    },
    {
      key: 'powerBi',
      name: 'Power BI',
      purpose: "Approved budgets: the budget_submission workflow's publish_to_powerbi step refreshes the semantic model (and appends to a push dataset where one is still configured). Prior-year actuals: the Plans page's \"Load actuals\" runs a DAX query on a semantic model (loadPriorYearActuals).",
      howToConfigure: 'Set POWERBI_REFRESH_GROUP_ID and POWERBI_REFRESH_DATASET_ID (or POWERBI_GROUP_ID and POWERBI_DATASET_ID for a push dataset) with the ENTRA_* settings; simulated without. Actuals: POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX (POWERBI_ACTUALS_GROUP_ID for a workspace); off without.',
      detail: null,
      ...tracked(health, 'Power BI'),
    },
    {
      key: 'metabase',
      name: 'Metabase',
      purpose:
        "Partners' dashboards: new_partner copies the template collection (clone_metabase_collection), creates the organisation's group (create_metabase_group) and grants it the database and its collection (grant_metabase_db_access); new_partner_user adds the person to the group (add_user_to_metabase_group); offboarding removes them, then deletes the group and archives the collection.",
      howToConfigure: 'Set METABASE_URL, METABASE_API_KEY (an admin API key), METABASE_TEMPLATE_COLLECTION_ID and METABASE_DATABASE_ID (METABASE_PARENT_COLLECTION_ID optional); simulated without.',
      detail: null,
      ...tracked(health, 'Metabase'),
    },
    {
      key: 'slack',
      name: 'Slack',
      purpose:
        "Partners' Slack user group: new_partner creates it (create_slack_group), new_partner_user adds the person by their address (add_user_to_slack_group); offboarding removes them and disables the group.",
      howToConfigure: 'Set SLACK_BOT_TOKEN (a bot token with usergroups:read, usergroups:write, users:read, users:read.email); simulated without.',
      detail: null,
      ...tracked(health, 'Slack'),
    },
    {
      key: 'studio',
      name: 'Studio',
      purpose:
        "Partners' Studio companies (your own service, README \"Connecting the provisioning targets\"): new_partner creates them, new_partner_user adds the person, creates their own company and sends the invitation; offboarding removes them and archives the companies.",
      howToConfigure: 'Set STUDIO_URL and STUDIO_SECRET (PROVISIONING_TIMEOUT_SECONDS for the timeout); simulated without.',
      detail: null,
      ...tracked(health, 'Studio'),
    },
    {
      key: 'infrabot',
      name: 'Infrabot',
      purpose: 'Infrastructure for partners (your own service, README "Connecting the provisioning targets"): new_partner provisions the organisation (trigger_infrabot), offboard_partner deprovisions it.',
      howToConfigure: 'Set INFRABOT_URL and INFRABOT_SECRET (PROVISIONING_TIMEOUT_SECONDS for the timeout); simulated without.',
      detail: null,
      ...tracked(health, 'Infrabot'),
    },
    {
      key: 'lms',
      name: 'LMS',
      purpose:
        'Documentation for partners (your own service, README "Connecting the provisioning targets"): new_partner sets up the tenant (lms_setup), new_partner_user shares the documentation (share_documentation); offboarding withdraws it and closes the tenant.',
      howToConfigure: 'Set LMS_URL and LMS_SECRET (PROVISIONING_TIMEOUT_SECONDS for the timeout); simulated without.',
      detail: null,
      ...tracked(health, 'LMS'),
    },
    {
      key: 'entraSignIn',
      name: 'Microsoft Entra ID sign-in',
      state: config.entra ? 'CONFIGURED' : 'NOT_CONFIGURED',
      purpose: 'Sign-in with Microsoft and roles from Entra groups; also the app that Microsoft Graph and Power BI are called as.',
      howToConfigure: 'Set ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET and ENTRA_REDIRECT_URI (all four), and ENTRA_GROUP_ROLES.',
      ...noCall,
    },
    {
      key: 'mail',
      name: 'Mail (SMTP)',
      state: config.smtp ? 'CONFIGURED' : 'NOT_CONFIGURED',
      purpose: 'E-mails the set-password link when an admin adds a person or resets a password; without it the admin passes the link on.',
      howToConfigure: 'Set SMTP_URL and SMTP_FROM.',
      ...noCall,
    },
    {
      key: 'redis',
      name: 'Redis (scale-out)',
      state: !config.redisUrl ? 'NOT_CONFIGURED' : redisUp ? 'OK' : 'FAILING',
      purpose: 'Carries live events (grid edits, presence, GraphQL subscriptions) and rate limits between several instances; one instance needs none.',
      howToConfigure: 'Set REDIS_URL (and REDIS_PREFIX to share one Redis between deployments).',
      ...noCall,
      lastError: config.redisUrl && !redisUp ? 'This instance cannot reach Redis: it serves its own clients and catches up once Redis is back.' : null,
    },
    webhookRow(webhooks),
  ];
}
