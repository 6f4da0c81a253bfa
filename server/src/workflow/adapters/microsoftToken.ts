/**
 * App-only access tokens for Microsoft APIs (Graph, Power BI): the OAuth2 client-credentials grant through
 * msal-node, as the same Entra app that signs people in (ENTRA_TENANT_ID / ENTRA_CLIENT_ID /
 * ENTRA_CLIENT_SECRET), so an operator registers and consents one app, not two.
 *
 * msal keeps the tokens in its own in-memory cache and hands a cached one back until shortly before it
 * expires, so a busy workflow asks Entra for a token about once an hour per API, not once per call.
 */
import type * as MsalNode from '@azure/msal-node';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import { entraAppClient, loadMsal, type EntraAppCredentials } from '../../auth/entraApp.js';
import { IntegrationError, TransientIntegrationError } from './types.js';

/** Graph's and Power BI's application scopes: every permission consented to the app, nothing to list. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const POWER_BI_SCOPE = 'https://analysis.windows.net/powerbi/api/.default';

/** msal-node has no timeout on its token POST; a step must not hang on a silent authority. */
const TOKEN_TIMEOUT_MS = 15_000;

export interface AccessTokenSource {
  /** A bearer token for `scope` (an API's `/.default`). Throws the integration errors of types.ts. */
  token(scope: string): Promise<string>;
}

export class MicrosoftAppTokens implements AccessTokenSource {
  /** Made with the first token asked for (msal-node is loaded then: auth/entraApp.ts). */
  private client: Promise<ConfidentialClientApplication> | undefined;

  constructor(private readonly entra: EntraAppCredentials) {}

  async token(scope: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransientIntegrationError(`Microsoft Entra did not issue a token for ${scope} within ${TOKEN_TIMEOUT_MS / 1000} s`)),
        TOKEN_TIMEOUT_MS,
      );
    });
    try {
      this.client ??= entraAppClient(this.entra);
      const msal = await this.client;
      const result = await Promise.race([msal.acquireTokenByClientCredential({ scopes: [scope] }), timeout]);
      if (!result?.accessToken) throw new IntegrationError(`Microsoft Entra returned no access token for ${scope}`);
      return result.accessToken;
    } catch (err) {
      throw tokenError(err, scope, await loadMsal());
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * msal's errors as integration errors: an unreachable or overloaded authority may answer later (transient);
 * a refusal (wrong secret, missing consent, unknown tenant) will not. The message carries Entra's code and
 * description, which name no secret.
 */
function tokenError(err: unknown, scope: string, { AuthError, ServerError }: typeof MsalNode): Error {
  if (err instanceof IntegrationError || err instanceof TransientIntegrationError) return err;
  if (!(err instanceof AuthError)) return new TransientIntegrationError(`Getting a token for ${scope} failed: ${(err as Error)?.message ?? err}`);
  const status = err instanceof ServerError ? err.status : undefined;
  const description = (err.errorMessage || err.message).split(/\r?\n/)[0].slice(0, 300);
  const what = `Microsoft Entra refused a token for ${scope}: ${err.errorCode}${description ? `: ${description}` : ''}`;
  const transient =
    err.errorCode === 'network_error' ||
    err.errorCode === 'temporarily_unavailable' ||
    /throttl/i.test(err.errorCode) ||
    (status !== undefined && (status === 429 || status >= 500));
  return transient ? new TransientIntegrationError(what) : new IntegrationError(what);
}
