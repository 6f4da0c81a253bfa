/** The GraphQL schema, built code-first from the resolvers; `schema/schema.graphql` is its printed form. */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AuthResolver } from '../auth/AuthResolver.js';
import { AuditLogResolver } from '../budget/AuditLogResolver.js';
import { BudgetLineResolver } from '../budget/BudgetLineResolver.js';
import { BudgetLineRelations, BudgetSubmissionRelations, CellChangeRelations } from '../budget/RelationResolvers.js';
import { SubmissionResolver } from '../budget/SubmissionResolver.js';
import { OrganizationResolver } from '../directory/OrganizationResolver.js';
import { UserResolver } from '../directory/UserResolver.js';
import type { EventBus } from '../realtime/eventBus.js';
import { WorkflowResolver } from '../workflow/WorkflowResolver.js';

export const resolvers = [
  AuthResolver,
  UserResolver,
  OrganizationResolver,
  BudgetLineResolver,
  BudgetLineRelations,
  SubmissionResolver,
  BudgetSubmissionRelations,
  AuditLogResolver,
  CellChangeRelations,
  WorkflowResolver,
] as const;

export async function buildPlansyncSchema(events: EventBus): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...resolvers],
    pubSub: events,
    // Inputs are checked by the resolvers and the shared column rules, with the contract's error codes.
    validate: false,
  });
}

/** The SDL as checked in: sorted, so that it only changes when the schema does. */
export function printPlansyncSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
