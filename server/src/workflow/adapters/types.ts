/**
 * The integrations workflows drive, behind one interface. Each service has a simulated adapter (the
 * default) and, for Microsoft Teams and Power BI, a real one used when its settings are present.
 *
 * Adapters throw `TransientIntegrationError` for what may work on a later attempt (timeouts, 429, 5xx):
 * the engine retries those, a bounded number of times. Any other error fails the step at once.
 */

export class TransientIntegrationError extends Error {
  readonly transient = true;
}

export class IntegrationError extends Error {}

/**
 * The error for an HTTP refusal its caller does not handle: transient for 429 and 5xx (the engine tries again;
 * the service's Retry-After said in the message), an IntegrationError for anything else.
 */
export function refusalError(service: string, where: string, status: number, detail: string, retryAfter: string | null): Error {
  if (status === 429 || status >= 500) {
    const after = retryAfter ? ` (Retry-After: ${retryAfter}${/^\d+$/.test(retryAfter) ? ' s' : ''})` : '';
    return new TransientIntegrationError(`${service} ${where} answered ${detail}${after}`);
  }
  return new IntegrationError(`${service} refused ${where}: ${detail}`);
}

export function isTransient(err: unknown): boolean {
  return (err as { transient?: boolean })?.transient === true;
}

export interface StudioAdapter {
  createCompany(organizationName: string, company: { name: string; environment: 'test' | 'prod' }): Promise<{ companyId: string }>;
  addUserToCompany(email: string, companyId: string): Promise<void>;
  createUserCompany(email: string, name: string): Promise<{ companyId: string }>;
  sendInvite(email: string): Promise<{ inviteId: string }>;
  // Offboarding. Every removal is idempotent: removing what is already gone succeeds.
  removeUserFromCompany(email: string, companyId: string): Promise<void>;
  /** Closes a company (a person's own, or each of an organisation's when it leaves). */
  archiveCompany(companyId: string): Promise<void>;
}

export interface InfrabotAdapter {
  provisionOrganization(organizationName: string): Promise<{ runId: string }>;
  deprovisionOrganization(organizationName: string): Promise<{ runId: string }>;
}

export interface MetabaseAdapter {
  cloneCollection(organizationName: string): Promise<{ collectionId: string }>;
  createGroup(organizationName: string): Promise<{ groupId: string }>;
  grantDatabaseAccess(groupId: string, collectionId: string): Promise<void>;
  addUserToGroup(email: string, groupId: string): Promise<void>;
  removeUserFromGroup(email: string, groupId: string): Promise<void>;
  /** Deletes the group, and with it the database access it was granted. */
  deleteGroup(groupId: string): Promise<void>;
  archiveCollection(collectionId: string): Promise<void>;
}

export interface TeamsAdapter {
  createChannel(organizationName: string): Promise<{ teamId: string; channelId: string }>;
  /** Invites a guest (Graph invitations) and returns their directory id. */
  inviteUser(email: string, displayName: string): Promise<{ userId: string }>;
  addMember(teamId: string, userId: string): Promise<void>;
  /** Removes the guest with this address from the team (nothing to do when they are not a member). */
  removeMember(teamId: string, email: string): Promise<void>;
  archiveChannel(teamId: string, channelId: string): Promise<void>;
}

export interface SlackAdapter {
  createUserGroup(organizationName: string): Promise<{ groupId: string }>;
  addUserToGroup(email: string, groupId: string): Promise<void>;
  removeUserFromGroup(email: string, groupId: string): Promise<void>;
  disableUserGroup(groupId: string): Promise<void>;
}

export interface LmsAdapter {
  setupTenant(organizationName: string): Promise<{ tenantId: string }>;
  shareDocumentation(email: string, tenantId: string): Promise<void>;
  revokeDocumentation(email: string, tenantId: string): Promise<void>;
  closeTenant(tenantId: string): Promise<void>;
}

export interface BudgetRow {
  planId: string;
  fiscalYear: number;
  businessUnit: string;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
}

/**
 * Power BI after an approval. Each part is there only when configured (the simulated twin has both): a push
 * dataset (retired by Microsoft: kept for deployments that still have one) and the refresh of an import
 * semantic model that reads the OData feed (the path from 2026 on).
 */
export interface PowerBiAdapter {
  /** Pushes an approved unit budget into the Power BI push dataset. */
  pushBudgetRows?(rows: BudgetRow[]): Promise<{ rowsPushed: number }>;
  /** Asks Power BI to refresh the import semantic model (it then reads the feed, approved figures included). */
  refreshDataset?(): Promise<{ datasetRefresh: 'requested' }>;
}

export interface NotificationAdapter {
  notifyBusinessUnit(unitCode: string, message: string): Promise<{ messageId: string }>;
}

/** Every integration, as one step run sees them. */
export interface Integrations {
  studio: StudioAdapter;
  infrabot: InfrabotAdapter;
  metabase: MetabaseAdapter;
  teams: TeamsAdapter;
  slack: SlackAdapter;
  lms: LmsAdapter;
  powerBi: PowerBiAdapter;
  notifications: NotificationAdapter;
}

/** Which step a run belongs to: simulated failures (SIMULATE_FAILURE_STEPS) are decided per step. */
export interface StepRunContext {
  stepKey: string;
  /** True once an admin has retried the step: a simulated failure then stops. */
  retriedByAdmin: boolean;
}

export interface IntegrationProvider {
  forStep(context: StepRunContext): Integrations;
  /** Which real adapters are in use, for the logs at start. */
  describe(): Record<keyof Integrations, 'simulated' | 'real'>;
}
