/**
 * The validator a form of a given schema checks its input with: @rjsf/validator-ajv8's precompiled
 * validator over the functions in validators.generated.ts. Ajv compiling in the browser would need
 * `new Function`, which the Content-Security-Policy forbids (no 'unsafe-eval'), so every workflow input
 * schema is compiled ahead, by client/scripts/validators.mjs.
 */
import { createPrecompiledValidator } from '@rjsf/validator-ajv8';
import type { ValidatorType } from '@rjsf/utils';
import type { JsonSchema } from './schema';
import { validateFns } from './validators.generated';

/**
 * The validator of one schema. Throws when the schema was not compiled ahead (a workflow added or changed
 * without `npm run codegen -w client`): the view's error boundary says so, rather than a form that checks
 * nothing.
 */
export function validatorFor(schema: JsonSchema): ValidatorType {
  return createPrecompiledValidator(validateFns, schema);
}
