/**
 * One JSON call to a Microsoft REST API (Graph, Power BI) with an app-only token, and the mapping of what can
 * go wrong onto the engine's two kinds of failure:
 *
 * - no answer (network error, the 15 s timeout), 429 and 5xx: `TransientIntegrationError`, so the engine
 *   tries again; the message carries Retry-After when the service sent one, for whoever reads the step;
 * - any other 4xx: `IntegrationError` with the service's own error code and message, which is what an
 *   operator needs to fix a permission or an id. The token never appears in a message.
 *
 * Callers that treat some refusals as success (409 "already exists") pass them in `accept`.
 */
import { recordedCall, type ApiCallRecorder, type MicrosoftService } from './health.js';
import type { AccessTokenSource } from './microsoftToken.js';
import { refusalError, TransientIntegrationError } from './types.js';

/** Long enough for a slow Graph write, short enough that a hung connection does not hold a worker. */
export const REQUEST_TIMEOUT_MS = 15_000;

export interface MicrosoftApiError {
  status: number;
  code: string;
  message: string;
}

export interface ApiRequest {
  /** For messages and /readyz: "Microsoft Graph", "Power BI". */
  service: MicrosoftService;
  tokens: AccessTokenSource;
  scope: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  /** Refusals the caller handles itself; the call then resolves with `{ refused }`. */
  accept?: (error: MicrosoftApiError) => boolean;
  /** Told whether the call succeeded (an accepted refusal counts as success), for /readyz. */
  health?: ApiCallRecorder;
}

export type ApiResult<T> = { ok: T; refused?: undefined } | { ok?: undefined; refused: MicrosoftApiError };

export async function callMicrosoftApi<T = any>(request: ApiRequest): Promise<ApiResult<T>> {
  return recordedCall(request.health, request.service, () => callOnce<T>(request));
}

async function callOnce<T>(request: ApiRequest): Promise<ApiResult<T>> {
  const token = await request.tokens.token(request.scope);
  const where = `${request.method} ${new URL(request.url).pathname}`;
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: request.method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    const reason = e.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : (e.cause?.message ?? e.message);
    throw new TransientIntegrationError(`${request.service} ${where} failed: ${reason}`);
  }

  const text = await res.text().catch(() => '');
  if (res.ok) return { ok: (text ? safeJson(text) : {}) as T };

  const error = { status: res.status, ...errorOf(text, res.statusText) };
  if (request.accept?.(error)) return { refused: error };
  const detail = `${res.status} ${error.code}${error.message ? `: ${error.message}` : ''}`;
  throw refusalError(request.service, where, res.status, detail, res.headers.get('retry-after'));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/**
 * The code and message of an error body. Graph: `{ error: { code, message } }`; Power BI: the same, or
 * `{ error: { code, "pbi.error": { code, details: [{ detail: { value } }] } } }` without a message.
 */
function errorOf(text: string, statusText: string): { code: string; message: string } {
  const body = safeJson(text) as
    | { error?: { code?: unknown; message?: unknown; 'pbi.error'?: { code?: unknown; details?: { detail?: { value?: unknown } }[] } } }
    | undefined;
  const error = body?.error;
  const code = typeof error?.code === 'string' ? error.code : typeof error?.['pbi.error']?.code === 'string' ? error['pbi.error'].code : statusText || 'Error';
  // Power BI puts what went wrong (a DAX query's error, say) in its details when there is no message.
  const details = Array.isArray(error?.['pbi.error']?.details) ? error['pbi.error'].details : [];
  const detail = details.map((d) => d?.detail?.value).filter((v): v is string => typeof v === 'string').join(' ');
  const message = typeof error?.message === 'string' ? error.message : detail;
  // A bound on what lands in the step's error column; these messages are a sentence or two.
  return { code: code.slice(0, 100), message: message.slice(0, 500) };
}
