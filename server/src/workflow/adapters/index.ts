/**
 * Chooses the integrations: simulated by default; a real adapter for each service whose settings are present
 * (see config.ts): Microsoft Teams and Power BI, Metabase, Slack, and the Studio, Infrabot and LMS services
 * (httpProvisioning.ts), each replacing only its own service.
 */
import type { Config } from '../../config.js';
import { IntegrationHealth } from './health.js';
import { infrabotAdapter, lmsAdapter, studioAdapter } from './httpProvisioning.js';
import { metabaseAdapter } from './metabase.js';
import { powerBiAdapter } from './powerBi.js';
import { simulatedIntegrations } from './simulated.js';
import { slackAdapter } from './slack.js';
import { teamsAdapter } from './teams.js';
import type { IntegrationProvider, Integrations } from './types.js';

/** Real adapters, built once from the configuration; each is used for every step run. */
export type RealAdapters = Partial<Pick<Integrations, 'studio' | 'infrabot' | 'metabase' | 'teams' | 'slack' | 'lms' | 'powerBi'>>;

/** Which services are real under this configuration, for /readyz and the admins' integrations page. */
export function integrationHealthFor(config: Config): IntegrationHealth {
  return new IntegrationHealth({
    'Microsoft Graph': Boolean(config.teams),
    'Power BI': Boolean(config.powerBi || config.powerBiRefresh || config.powerBiActuals),
    Metabase: Boolean(config.metabase),
    Slack: Boolean(config.slack),
    Studio: Boolean(config.studio),
    Infrabot: Boolean(config.infrabot),
    LMS: Boolean(config.lms),
  });
}

/** Every real adapter the configuration turns on, reporting its calls to `health`. */
export function realAdapters(config: Config, health: IntegrationHealth): RealAdapters {
  const adapters: RealAdapters = {
    teams: teamsAdapter(config, health),
    powerBi: powerBiAdapter(config, health),
    metabase: metabaseAdapter(config, health),
    slack: slackAdapter(config, health),
    studio: studioAdapter(config, health),
    infrabot: infrabotAdapter(config, health),
    lms: lmsAdapter(config, health),
  };
  return Object.fromEntries(Object.entries(adapters).filter(([, a]) => a !== undefined)) as RealAdapters;
}

export function integrationProvider(config: Pick<Config, 'simulatedStepMs' | 'simulateFailureSteps'>, real: RealAdapters = {}): IntegrationProvider {
  const settings = { latencyMs: config.simulatedStepMs, failingSteps: new Set(config.simulateFailureSteps) };
  const present = Object.fromEntries(Object.entries(real).filter(([, a]) => a !== undefined)) as RealAdapters;
  return {
    forStep(context) {
      return { ...simulatedIntegrations(settings, context), ...present };
    },
    describe() {
      const kind = (key: keyof RealAdapters) => (present[key] ? 'real' : 'simulated');
      return {
        studio: kind('studio'),
        infrabot: kind('infrabot'),
        metabase: kind('metabase'),
        teams: kind('teams'),
        slack: kind('slack'),
        lms: kind('lms'),
        powerBi: kind('powerBi'),
        notifications: 'simulated',
      };
    },
  };
}
