/**
 * Plansync's one Entra app as an msal-node confidential client. Both uses of the app go through here: the
 * browser sign-in (auth/entraSignIn.ts) and the app-only tokens of the Microsoft integrations
 * (workflow/adapters/microsoftToken.ts), so they always name the authority the same way.
 *
 * msal-node is loaded with the first client made, not when the server starts: it costs about 2.6 MB of heap
 * once loaded, which every major garbage collection walks for good (issue 16), and a server without Entra
 * configured never needs it. A server with Entra makes its clients on first use (a sign-in, a token), too.
 *
 * Out of scope: which flow runs on the client (each caller's own), and msal's token cache (msal's, in memory,
 * one per client made here).
 */
import type * as MsalNode from '@azure/msal-node';
import type { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import type { EntraConfig } from '../config.js';
import type { Logger } from '../log.js';

/** What msal needs to act as the app: no redirect URI, no role mapping. */
export type EntraAppCredentials = Pick<EntraConfig, 'tenantId' | 'clientId' | 'clientSecret' | 'authorityHost'>;

let loaded: Promise<typeof MsalNode> | undefined;

/** msal-node itself, loaded once, on first use (its error classes, its crypto helpers). */
export function loadMsal(): Promise<typeof MsalNode> {
  loaded ??= import('@azure/msal-node');
  return loaded;
}

/**
 * A confidential client of the app in its tenant. With `log`, msal's warnings and errors go there (never
 * personal data); without it msal stays silent, as it does by default.
 */
export async function entraAppClient(entra: EntraAppCredentials, log?: Logger): Promise<ConfidentialClientApplication> {
  const msal = await loadMsal();
  const authority = `${entra.authorityHost}/${entra.tenantId}`;
  return new msal.ConfidentialClientApplication({
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
          logLevel: msal.LogLevel.Warning,
          loggerCallback: (level: LogLevel, message: string) => {
            if (level <= msal.LogLevel.Warning) log.warn({ msal: message }, 'msal-node');
          },
        },
      },
    }),
  });
}
