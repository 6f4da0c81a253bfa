/**
 * Plansync's one Entra app as an msal-node confidential client. Both uses of the app go through here: the
 * browser sign-in (auth/entraSignIn.ts) and the app-only tokens of the Microsoft integrations
 * (workflow/adapters/microsoftToken.ts), so they always name the authority the same way.
 *
 * Out of scope: which flow runs on the client (each caller's own), and msal's token cache (msal's, in memory,
 * one per client made here).
 */
import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import type { EntraConfig } from '../config.js';
import type { Logger } from '../log.js';

/** What msal needs to act as the app: no redirect URI, no role mapping. */
export type EntraAppCredentials = Pick<EntraConfig, 'tenantId' | 'clientId' | 'clientSecret' | 'authorityHost'>;

/**
 * A confidential client of the app in its tenant. With `log`, msal's warnings and errors go there (never
 * personal data); without it msal stays silent, as it does by default.
 */
export function entraAppClient(entra: EntraAppCredentials, log?: Logger): ConfidentialClientApplication {
  const authority = `${entra.authorityHost}/${entra.tenantId}`;
  return new ConfidentialClientApplication({
    auth: {
      clientId: entra.clientId,
      clientSecret: entra.clientSecret,
      authority,
      // Naming the authority's host as known makes msal trust it as is: no instance discovery call to
      // Microsoft, which matters for a sovereign cloud or a local fake and costs a round trip otherwise.
      knownAuthorities: [new URL(authority).host],
    },
    ...(log && {
      system: {
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (level: LogLevel, message: string) => {
            if (level <= LogLevel.Warning) log.warn({ msal: message }, 'msal-node');
          },
        },
      },
    }),
  });
}
