import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { schemaFile } from './paths.js';
import { createPlansyncBus } from './events.js';
import { buildPlansyncSchema, printPlansyncSchema } from './schema.js';

/** A field as `name(arg: Type, ...): Type` prints: its name, its arguments and its type. */
function contractField(signature: string) {
  const match = /^(\w+)(?:\((.*)\))?: (.+)$/.exec(signature)!;
  const args = match[2] ? match[2].split(', ') : [];
  return { name: match[1], args: expect.arrayContaining(args), type: match[3] };
}

/** Every field the SDL prints with its arguments (fields print on one line). */
function fieldsOf(sdl: string) {
  return [...sdl.matchAll(/^ {2}(\w+)(?:\((.*)\))?: (.+)$/gm)].map((m) => ({ name: m[1], args: m[2] ? m[2].split(', ') : [], type: m[3] }));
}

describe('schema/schema.graphql', () => {
  it('is what the code prints (run `npm run schema` after changing the API)', async () => {
    const printed = printPlansyncSchema(await buildPlansyncSchema(createPlansyncBus()));
    const checkedIn = await fs.readFile(schemaFile, 'utf8');
    expect(checkedIn).toBe(printed);
  });

  // Contract arguments stay as they are; optional arguments may be added (auditLog's filters).
  it('has every operation of the contract with its arguments', async () => {
    const sdl = await fs.readFile(schemaFile, 'utf8');
    for (const signature of [
      // Contract v1.1 adds totpCode (two-factor sign-in).
      'login(email: String!, password: String!, totpCode: String): AuthPayload!',
      'me: User!',
      'businessUnits: [BusinessUnit!]!',
      'budgetPlans: [BudgetPlan!]!',
      'budgetLines(businessUnitCode: String, planId: ID!): [BudgetLine!]!',
      'updateBudgetLine(expectedVersion: Int, id: ID!, input: BudgetLineInput!): BudgetLine!',
      'budgetSubmissions(planId: ID!): [BudgetSubmission!]!',
      'submitBudget(businessUnitCode: String!, planId: ID!): BudgetSubmission!',
      'auditLog(after: String, first: Int, lineId: ID): CellChangeConnection!',
      'budgetLineChanged(businessUnitCode: String, planId: ID!): BudgetLine!',
      // Contract v1.1, "Tools and scripts".
      'updateBudgetLines(atomic: Boolean = false, changes: [BudgetLineChangeInput!]!): BatchUpdateResult!',
    ]) {
      expect(fieldsOf(sdl), signature).toContainEqual(expect.objectContaining(contractField(signature)));
    }
  });
});
