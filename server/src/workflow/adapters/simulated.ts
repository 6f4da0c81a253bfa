/**
 * Simulated integrations: every call takes SIMULATED_STEP_MS and returns plausible ids. A step listed in
 * SIMULATE_FAILURE_STEPS fails every attempt (as a transient error, so the engine's automatic retries are
 * seen failing too) until an admin retries that step; the retried run then succeeds.
 */
import { randomUUID } from 'node:crypto';
import {
  TransientIntegrationError,
  type Integrations,
  type StepRunContext,
} from './types.js';

export interface SimulationSettings {
  latencyMs: number;
  failingSteps: ReadonlySet<string>;
}

const id = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export function simulatedIntegrations(settings: SimulationSettings, context: StepRunContext): Integrations {
  /** One simulated remote call: latency, then the scripted failure or the result. */
  const call = async <T>(operation: string, result: () => T): Promise<T> => {
    if (settings.latencyMs > 0) await new Promise((r) => setTimeout(r, settings.latencyMs));
    if (settings.failingSteps.has(context.stepKey) && !context.retriedByAdmin) {
      throw new TransientIntegrationError(`Simulated failure of ${operation} (SIMULATE_FAILURE_STEPS)`);
    }
    return result();
  };
  return {
    studio: {
      createCompany: (_org, company) => call('studio.createCompany', () => ({ companyId: id(`studio-${company.environment}`) })),
      addUserToCompany: () => call('studio.addUserToCompany', () => undefined),
      createUserCompany: () => call('studio.createUserCompany', () => ({ companyId: id('studio-user') })),
      sendInvite: () => call('studio.sendInvite', () => ({ inviteId: id('invite') })),
      removeUserFromCompany: () => call('studio.removeUserFromCompany', () => undefined),
      archiveCompany: () => call('studio.archiveCompany', () => undefined),
    },
    infrabot: {
      provisionOrganization: () => call('infrabot.provisionOrganization', () => ({ runId: id('infrabot-run') })),
      deprovisionOrganization: () => call('infrabot.deprovisionOrganization', () => ({ runId: id('infrabot-run') })),
    },
    metabase: {
      cloneCollection: () => call('metabase.cloneCollection', () => ({ collectionId: id('collection') })),
      createGroup: () => call('metabase.createGroup', () => ({ groupId: id('metabase-group') })),
      grantDatabaseAccess: () => call('metabase.grantDatabaseAccess', () => undefined),
      addUserToGroup: () => call('metabase.addUserToGroup', () => undefined),
      removeUserFromGroup: () => call('metabase.removeUserFromGroup', () => undefined),
      deleteGroup: () => call('metabase.deleteGroup', () => undefined),
      archiveCollection: () => call('metabase.archiveCollection', () => undefined),
    },
    teams: {
      createChannel: () => call('teams.createChannel', () => ({ teamId: id('team'), channelId: id('channel') })),
      inviteUser: () => call('teams.inviteUser', () => ({ userId: randomUUID() })),
      addMember: () => call('teams.addMember', () => undefined),
      removeMember: () => call('teams.removeMember', () => undefined),
      archiveChannel: () => call('teams.archiveChannel', () => undefined),
    },
    slack: {
      createUserGroup: () => call('slack.createUserGroup', () => ({ groupId: id('slack-group') })),
      addUserToGroup: () => call('slack.addUserToGroup', () => undefined),
      removeUserFromGroup: () => call('slack.removeUserFromGroup', () => undefined),
      disableUserGroup: () => call('slack.disableUserGroup', () => undefined),
    },
    lms: {
      setupTenant: () => call('lms.setupTenant', () => ({ tenantId: id('lms-tenant') })),
      shareDocumentation: () => call('lms.shareDocumentation', () => undefined),
      revokeDocumentation: () => call('lms.revokeDocumentation', () => undefined),
      closeTenant: () => call('lms.closeTenant', () => undefined),
    },
    powerBi: {
      pushBudgetRows: (rows) => call('powerBi.pushBudgetRows', () => ({ rowsPushed: rows.length })),
      refreshDataset: () => call('powerBi.refreshDataset', () => ({ datasetRefresh: 'requested' as const })),
    },
    notifications: {
      notifyBusinessUnit: () => call('notifications.notifyBusinessUnit', () => ({ messageId: id('message') })),
    },
  };
}
