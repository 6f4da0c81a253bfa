/**
 * What a failed operation means for the person: the server's message (it is written for people and never
 * reveals more than it should, see server/src/errors.ts), its code, and the input field it names.
 */
import { CombinedGraphQLErrors, ServerError, ServerParseError } from '@apollo/client/errors';

export interface ProblemInfo {
  message: string;
  code?: string;
  /** BAD_USER_INPUT names the field, as a dotted path into the input ("companies.0.name"). */
  field?: string;
}

export function problemOf(error: unknown): ProblemInfo {
  if (CombinedGraphQLErrors.is(error) && error.errors.length > 0) {
    const [first] = error.errors;
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
    const field = typeof first.extensions?.field === 'string' ? first.extensions.field : undefined;
    return { message: first.message, code, field };
  }
  const unanswered = unansweredMessage(error);
  if (unanswered) return { message: unanswered };
  if (error instanceof Error) return { message: error.message };
  // A message of our own (ErrorMessage takes `{ message }`, as the grid's "You may not open the budget of …" when
  // the server closes its socket for lost access): String() of it read "[object Object]".
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return { message: (error as { message: string }).message };
  }
  return { message: String(error) };
}

/**
 * What to tell a person when the request never got an answer from Plansync: the server out of reach (fetch's
 * TypeError, 'Failed to fetch') or something in front of it answering instead (a proxy's 502 page, which is no
 * JSON). The browser's own words ("Failed to fetch", "Unexpected token '<'") say nothing a person can act on.
 */
export function unansweredMessage(error: unknown, status?: number): string | null {
  if (error instanceof TypeError && !(error instanceof SyntaxError)) {
    return 'Plansync cannot be reached: check your connection, then try again in a moment.';
  }
  const code = ServerError.is(error) || ServerParseError.is(error) ? error.statusCode : error instanceof SyntaxError ? status : undefined;
  if (code !== undefined) return `Plansync did not answer (HTTP ${code}): try again in a moment.`;
  return null;
}
