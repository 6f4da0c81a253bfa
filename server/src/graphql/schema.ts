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
import type { WorkflowEventRecord } from '../workflow/transitions.js';
import { publicEvent, WorkflowResolver } from '../workflow/WorkflowResolver.js';

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
  const schema = await buildSchema({
    resolvers: [...resolvers],
    pubSub: events,
    // Inputs are checked by the resolvers and the shared column rules, with the contract's error codes.
    validate: false,
  });
  // type-graphql makes every resolver that has an @Arg asynchronous (its argument validation is an async
  // function even when validation is off). workflowEvents' root only shapes the event it is given, and its
  // arguments serve `subscribe`; resolved synchronously, a fanout's shared result is ready at once and goes
  // out to every subscriber in the same turn (realtime/fanout.ts).
  schema.getSubscriptionType()!.getFields().workflowEvents.resolve = (event: WorkflowEventRecord) => publicEvent(event);
  return schema;
}

/** The SDL as checked in: sorted, so that it only changes when the schema does. */
export function printPlansyncSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
