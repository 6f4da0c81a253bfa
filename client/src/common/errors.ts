/**
 * What a failed operation means for the person: the server's message (it is written for people and never
 * reveals more than it should, see server/src/errors.ts), its code, and the input field it names.
 */
import { CombinedGraphQLErrors } from '@apollo/client/errors';

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
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}
