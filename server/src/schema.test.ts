import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { schemaFile } from './paths.js';
import { createPlansyncBus } from './events.js';
import { buildPlansyncSchema, printPlansyncSchema } from './schema.js';

describe('schema/schema.graphql', () => {
  it('is what the code prints (run `npm run schema` after changing the API)', async () => {
    const printed = printPlansyncSchema(await buildPlansyncSchema(createPlansyncBus()));
    const checkedIn = await fs.readFile(schemaFile, 'utf8');
    expect(checkedIn).toBe(printed);
  });

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
      expect(sdl).toContain(signature);
    }
  });
});
