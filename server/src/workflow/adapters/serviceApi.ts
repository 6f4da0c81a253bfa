/**
 * One JSON call to a provisioning target's REST API (Metabase, the Studio / Infrabot / LMS services), with
 * the same mapping onto the engine's two kinds of failure as the Microsoft calls (microsoftApi.ts):
 *
 * - no answer (network error, the configured timeout), 429 and 5xx: `TransientIntegrationError`, so the engine
 *   tries again; the message carries Retry-After when the service sent one;
 * - any other 4xx: `IntegrationError` with the service's own message. No credential appears in a message.
 *
 * Callers that treat some refusals as success (409 "already exists", 404 on a removal) pass them in `accept`:
 * the call then resolves with `{ refused }`. Every finished call is reported to `health` (an accepted refusal
 * counts as a success).
 */
import { recordedCall, type ApiCallRecorder, type ProvisioningService } from './health.js';
import { refusalError, TransientIntegrationError } from './types.js';

export interface ServiceApiError {
  status: number;
  /** The service's own message (its JSON body's message / error / errors), or the status text. */
  message: string;
  /** The parsed body of the refusal, when it was JSON. */
  body: unknown;
}

export interface ServiceRequest {
  service: ProvisioningService;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  accept?: (error: ServiceApiError) => boolean;
  health?: ApiCallRecorder;
}

export type ServiceResult<T> = { ok: T; refused?: undefined } | { ok?: undefined; refused: ServiceApiError };

export async function callServiceApi<T = any>(request: ServiceRequest): Promise<ServiceResult<T>> {
  return recordedCall(request.health, request.service, () => callOnce<T>(request));
}

async function callOnce<T>(request: ServiceRequest): Promise<ServiceResult<T>> {
  const where = `${request.method} ${new URL(request.url).pathname}`;
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: request.method,
      headers: { accept: 'application/json', ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    const reason = e.name === 'TimeoutError' ? `no answer within ${request.timeoutMs / 1000} s` : (e.cause?.message ?? e.message);
    throw new TransientIntegrationError(`${request.service} ${where} failed: ${reason}`);
  }

  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    // The body cut off (or the timeout struck while it arrived): the service may have acted, so try again.
    throw new TransientIntegrationError(`${request.service} ${where} failed while reading the answer: ${(err as Error).message}`);
  }
  if (res.ok) return { ok: (text ? safeJson(text) : {}) as T };

  const body = safeJson(text);
  const error: ServiceApiError = { status: res.status, message: messageOf(body, text, res.statusText), body };
  if (request.accept?.(error)) return { refused: error };
  const detail = `${res.status}${error.message ? ` ${error.message}` : ''}`;
  throw refusalError(request.service, where, res.status, detail, res.headers.get('retry-after'));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A refusal's message. Metabase answers a plain string, `{ message }` or `{ errors: { field: message } }`; the
 * generic services `{ message }` or `{ error }` (README, "Connecting the provisioning targets").
 */
function messageOf(body: unknown, text: string, statusText: string): string {
  let message = '';
  if (typeof body === 'string') message = body;
  else if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown; errors?: unknown };
    if (typeof b.message === 'string') message = b.message;
    else if (typeof b.error === 'string') message = b.error;
    else if (typeof (b.error as { message?: unknown })?.message === 'string') message = (b.error as { message: string }).message;
    else if (b.errors && typeof b.errors === 'object') {
      message = Object.entries(b.errors as Record<string, unknown>)
        .map(([field, m]) => `${field}: ${typeof m === 'string' ? m : JSON.stringify(m)}`)
        .join('; ');
    }
  } else if (body === undefined && text && !/^\s*</.test(text)) message = text; // plain text, not an HTML error page
  // A bound on what lands in the step's error column.
  return (message || statusText || 'Error').replace(/\s+/g, ' ').trim().slice(0, 500);
}
