/**
 * Chooses the integrations: simulated by default; the real Microsoft Teams and Power BI adapters when their
 * settings are present (see config.ts), each replacing only its own service.
 */
import type { Config } from '../../config.js';
import { simulatedIntegrations } from './simulated.js';
import type { IntegrationProvider, Integrations } from './types.js';

/** Real adapters, built once from the configuration; each is used for every step run. */
export interface RealAdapters {
  teams?: Integrations['teams'];
  powerBi?: Integrations['powerBi'];
}

export function integrationProvider(config: Pick<Config, 'simulatedStepMs' | 'simulateFailureSteps'>, real: RealAdapters = {}): IntegrationProvider {
  const settings = { latencyMs: config.simulatedStepMs, failingSteps: new Set(config.simulateFailureSteps) };
  return {
    forStep(context) {
      const simulated = simulatedIntegrations(settings, context);
      return { ...simulated, ...(real.teams ? { teams: real.teams } : {}), ...(real.powerBi ? { powerBi: real.powerBi } : {}) };
    },
    describe() {
      return {
        studio: 'simulated',
        infrabot: 'simulated',
        metabase: 'simulated',
        teams: real.teams ? 'real' : 'simulated',
        slack: 'simulated',
        lms: 'simulated',
        powerBi: real.powerBi ? 'real' : 'simulated',
        notifications: 'simulated',
      };
    },
  };
}
