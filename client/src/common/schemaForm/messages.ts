/**
 * What the form says when an input breaks its schema: Ajv's findings (through @rjsf/validator-ajv8) turned
 * into one short sentence per field, in the words people read elsewhere in the app. The server checks the
 * same schema again with Ajv; these are for the person, not for security.
 */
import type { RJSFValidationError } from '@rjsf/utils';
import { schemaAt, type JsonSchema } from './schema';

/** Which finding a field shows when Ajv reports several (allErrors): the first thing to fix comes first. */
const PRIORITY = ['required', 'type', 'enum', 'minLength', 'maxLength', 'pattern', 'format', 'minItems', 'maxItems'];

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** A finding as a sentence; `field` is the schema of the value it is about. */
function sentence(error: RJSFValidationError, field: JsonSchema | undefined): string {
  const limit = Number(error.params?.limit);
  switch (error.name) {
    case 'required':
      // An enum or an id is picked from a list; a box is ticked; the rest is typed.
      if (field?.type === 'boolean') return 'Tick this to go on.';
      return field?.enum || field?.format === 'uuid' ? 'Choose one.' : 'Required.';
    case 'enum':
      return `Choose one of: ${(field?.enum ?? []).join(', ')}.`;
    case 'const':
      // The one value a field accepts: a box to tick (an offboarding's confirmation).
      return field?.type === 'boolean' ? 'Tick this to go on.' : 'Not accepted.';
    case 'minLength':
      return limit === 1 ? 'Required.' : `At least ${limit} characters.`;
    case 'maxLength':
      return `At most ${limit} characters.`;
    case 'pattern':
      return error.params?.pattern === '\\S' ? 'Must not be blank.' : 'Not in the expected form.';
    case 'format':
      if (error.params?.format === 'email') return 'Enter an email address, like name@example.com.';
      if (error.params?.format === 'uuid') return 'Choose one.';
      return 'Not in the expected form.';
    case 'minItems':
      return `Add at least ${plural(limit, 'row', 'rows')}.`;
    case 'maxItems':
      return `At most ${plural(limit, 'row', 'rows')}.`;
    default:
      return error.message ?? 'Not accepted.';
  }
}

/** ".companies.0.name" -> ["companies", "0", "name"]. */
const pathOf = (property: string | undefined) => (property ?? '').split('.').filter(Boolean);

/**
 * rjsf's `transformErrors` for a form of `schema`: one finding per field, the one that comes first in PRIORITY,
 * worded as above. The result is what the fields show and what the form counts.
 */
export function problemMessages(schema: JsonSchema) {
  return (errors: RJSFValidationError[]): RJSFValidationError[] => {
    const rank = (e: RJSFValidationError) => {
      const at = PRIORITY.indexOf(e.name ?? '');
      return at < 0 ? PRIORITY.length : at;
    };
    // Fields stay in the order Ajv found them (the form focuses the first), each with its best finding.
    const byField = new Map<string, RJSFValidationError>();
    for (const error of errors) {
      const kept = byField.get(error.property ?? '');
      if (!kept || rank(error) < rank(kept)) byField.set(error.property ?? '', error);
    }
    return [...byField.values()].map((error) => {
      const message = sentence(error, schemaAt(schema, pathOf(error.property)));
      return { ...error, message, stack: message };
    });
  };
}
