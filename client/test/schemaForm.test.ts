/**
 * The workflow forms' own checks as the browser runs them, without a browser: each workflow input schema's
 * precompiled validator (@rjsf/validator-ajv8 over validators.generated.ts) and the sentences messages.ts
 * makes of Ajv's findings, one per field. The schemas are the server's own (workflow/definitions.ts).
 */
import { describe, expect, it } from 'vitest';
import type { RJSFValidationError, ValidatorType } from '@rjsf/utils';
import { BUDGET_SUBMISSION, NEW_PARTNER, NEW_PARTNER_USER, WORKFLOWS } from '../../server/src/workflow/definitions.js';

type Schema = Record<string, unknown>;
// Loaded by computed paths, as csv.test.ts does: the server's typecheck of tests resolves modules the Node way,
// and the client's modules only type-check the bundler way (client/tsconfig.json checks them).
const validatorPath = '../src/common/schemaForm/validator.js';
const messagesPath = '../src/common/schemaForm/messages.js';
const { validatorFor } = (await import(validatorPath)) as { validatorFor(schema: Schema): ValidatorType };
const { problemMessages } = (await import(messagesPath)) as {
  problemMessages(schema: Schema): (errors: RJSFValidationError[]) => RJSFValidationError[];
};

/** What the form would show for `data`: [field path, sentence] per field with a problem (rjsf writes a path
 * ".a.b" or, for a top-level required property, "a": both read "a.b" here). */
function problems(schema: object, data: unknown): [string | undefined, string | undefined][] {
  const s = schema as Schema;
  const { errors } = validatorFor(s).validateFormData(data, s, undefined, problemMessages(s));
  return errors.map((e) => [e.property?.replace(/^\./, ''), e.message]);
}

const stepSchema = (workflow: typeof NEW_PARTNER, key: string) => workflow.steps.find((s) => s.key === key)!.inputSchema!;

describe('the workflow forms check what the server checks, in our words', () => {
  it('has a precompiled validator for every start input and every manual step input', () => {
    const schemas = WORKFLOWS.flatMap((w) => [w.inputSchema, ...w.steps.flatMap((s) => (s.inputSchema ? [s.inputSchema] : []))]);
    for (const schema of schemas) expect(() => validatorFor(schema as Schema), JSON.stringify(schema)).not.toThrow();
    expect(() => validatorFor({ type: 'object', properties: { other: { type: 'string' } } })).toThrow(/No precompiled validator/);
  });

  it('new_partner: a missing or blank organisation name', () => {
    expect(problems(NEW_PARTNER.inputSchema, {})).toEqual([['organizationName', 'Required.']]);
    expect(problems(NEW_PARTNER.inputSchema, { organizationName: '   ' })).toEqual([['organizationName', 'Must not be blank.']]);
    expect(problems(NEW_PARTNER.inputSchema, { organizationName: 'x'.repeat(201) })).toEqual([['organizationName', 'At most 200 characters.']]);
    expect(problems(NEW_PARTNER.inputSchema, { organizationName: 'Globex' })).toEqual([]);
  });

  it('companies: one sentence per cell, a choice said as a choice, and the rows counted', () => {
    const schema = stepSchema(NEW_PARTNER, 'input_studio_companies');
    expect(problems(schema, { companies: [{}] })).toEqual([
      ['companies.0.name', 'Required.'],
      ['companies.0.environment', 'Choose one.'],
    ]);
    expect(problems(schema, { companies: [{ name: 'Globex', environment: 'staging' }] })).toEqual([
      ['companies.0.environment', 'Choose one of: test, prod.'],
    ]);
    expect(problems(schema, { companies: [] })).toEqual([['companies', 'Add at least 1 row.']]);
    const many = Array.from({ length: 51 }, (_, i) => ({ name: `C${i}`, environment: 'test' }));
    expect(problems(schema, { companies: many })).toEqual([['companies', 'At most 50 rows.']]);
  });

  it("the person's details: an address that is not one, a name of spaces (counted in characters, not UTF-16 units)", () => {
    const schema = stepSchema(NEW_PARTNER_USER, 'input_user_details');
    expect(problems(schema, { email: 'not-an-email', displayName: '   ' })).toEqual([
      ['email', 'Enter an email address, like name@example.com.'],
      ['displayName', 'Must not be blank.'],
    ]);
    expect(problems(schema, { email: 'a@b.example', displayName: '😀'.repeat(200) })).toEqual([]);
  });

  it('the organisation picker and the finance review: nothing picked, and a comment too long', () => {
    const pick = stepSchema(NEW_PARTNER_USER, 'select_organization');
    expect(problems(pick, {})).toEqual([['organizationId', 'Choose one.']]);
    expect(problems(pick, { organizationId: 'acme' })).toEqual([['organizationId', 'Choose one.']]);
    const review = stepSchema(BUDGET_SUBMISSION, 'finance_review');
    expect(problems(review, { comment: 'x'.repeat(2001) })).toEqual([
      ['decision', 'Choose one.'],
      ['comment', 'At most 2000 characters.'],
    ]);
    expect(problems(review, { decision: 'APPROVE' })).toEqual([]);
  });
});
