/** The GraphQL schema, built code-first from the resolvers; `schema/schema.graphql` is its printed form. */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ActivityLogResolver } from './activity/ActivityLogResolver.js';
import { AccessTokenResolver } from './auth/AccessTokenResolver.js';
import { ServiceAccountEntraAppResolver } from './auth/ServiceAccountEntraAppResolver.js';
import { AccountResolver } from './auth/AccountResolver.js';
import { AuthResolver } from './auth/AuthResolver.js';
import { SignInLogResolver } from './auth/SignInLogResolver.js';
import { gateUntilTotpEnrolled } from './auth/totpGate.js';
import { TotpResolver } from './auth/TotpResolver.js';
import { AuditLogResolver } from './budget/AuditLogResolver.js';
import { BatchWriteResolver } from './budget/BatchWriteResolver.js';
import { BudgetLineResolver } from './budget/BudgetLineResolver.js';
import { CellHistoryResolver } from './budget/CellHistoryResolver.js';
import type { BudgetLineParent } from './budget/BudgetLineType.js';
import { BudgetLineRelations, BudgetSubmissionRelations, CellChangeRelations } from './budget/RelationResolvers.js';
import { PlanAdminResolver } from './budget/PlanAdminResolver.js';
import { PlanLinesResolver, structureChangeOf } from './budget/PlanLinesResolver.js';
import { SubmissionResolver } from './budget/SubmissionResolver.js';
import { ReviewResolver } from './budget/ReviewResolver.js';
import { OrganizationResolver } from './directory/OrganizationResolver.js';
import { AbilitiesResolver } from './directory/AbilitiesResolver.js';
import { PeopleAdminResolver } from './directory/PeopleAdminResolver.js';
import { UserResolver } from './directory/UserResolver.js';
import { badUserInput } from './errors.js';
import type { BudgetLineChangedEvent, LinesRestructuredEvent, SubmissionStatusChangedEvent } from './budget/events.js';
import type { PlansyncBus } from './events.js';
import type { GraphQLContext } from './graphql/context.js';
import { guardRootFields } from './graphql/policyGuard.js';
import { refuseUnstorableArguments } from './graphql/storableArguments.js';
import { replaceFieldResolver, replaceSubscriptionResolve } from './internals/typeGraphqlFields.js';
import type { WorkflowEventRecord } from './workflow/events.js';
import { WorkflowDefinitionAbilities, WorkflowStepAbilities } from './workflow/WorkflowAbilityResolvers.js';
import { publicEvent, WorkflowResolver } from './workflow/WorkflowResolver.js';
import { SubmissionWorkflowResolver } from './workflow/SubmissionWorkflowResolver.js';
import { WebhookResolver } from './webhooks/WebhookResolver.js';
import { NotificationResolver } from './notifications/NotificationResolver.js';
import { PriorYearActualsResolver } from './workflow/PriorYearActualsResolver.js';
import { IntegrationStatusResolver } from './workflow/IntegrationStatusResolver.js';

export const resolvers = [
  AuthResolver,
  ActivityLogResolver,
  SignInLogResolver,
  UserResolver,
  PeopleAdminResolver,
  AccountResolver,
  AccessTokenResolver,
  ServiceAccountEntraAppResolver,
  TotpResolver,
  AbilitiesResolver,
  OrganizationResolver,
  BudgetLineResolver,
  BatchWriteResolver,
  BudgetLineRelations,
  PlanAdminResolver,
  PlanLinesResolver,
  SubmissionResolver,
  BudgetSubmissionRelations,
  ReviewResolver,
  AuditLogResolver,
  CellHistoryResolver,
  CellChangeRelations,
  WorkflowResolver,
  SubmissionWorkflowResolver,
  WorkflowDefinitionAbilities,
  WorkflowStepAbilities,
  WebhookResolver,
  NotificationResolver,
  PriorYearActualsResolver,
  IntegrationStatusResolver,
] as const;

export async function buildPlansyncSchema(events: PlansyncBus): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [...resolvers],
    pubSub: events,
    // Inputs are checked by the resolvers and the shared column rules, with the contract's error codes.
    validate: false,
  });
  // type-graphql makes every resolver that has an @Arg asynchronous (its argument validation is an async
  // function even when validation is off). Subscription roots only shape the event they are given (their
  // arguments serve `subscribe`); resolved synchronously, a fanout's shared result is ready at once and goes
  // out to every subscriber in the same turn (realtime/fanout.ts). The same as their resolver methods.
  replaceSubscriptionResolve<WorkflowEventRecord>(schema, 'workflowEvents', (event) => publicEvent(eventOf(event)));
  replaceSubscriptionResolve<BudgetLineChangedEvent>(schema, 'budgetLineChanged', (event) => eventOf(event).line);
  replaceSubscriptionResolve<SubmissionStatusChangedEvent>(schema, 'submissionStatusChanged', (event) => eventOf(event).submission);
  replaceSubscriptionResolve<LinesRestructuredEvent>(schema, 'budgetLinesStructureChanged', (event) => structureChangeOf(eventOf(event)));
  resolveDirectly(schema);
  refuseUnstorableArguments(schema);
  guardRootFields(schema, OPEN_ROOT_FIELDS);
  // Outermost: a person who must enrol in TOTP first is refused before any resolver or policy runs.
  gateUntilTotpEnrolled(schema);
  return schema;
}

/** The root fields that answer without row-level security (every other one must ask policies/, or fails). */
export const OPEN_ROOT_FIELDS: Readonly<Record<string, string>> = {
  'Mutation.login': 'signs in: there is no viewer yet, and the throttle guards it',
  'Mutation.signOut': "ends the caller's own token, nothing else",
  'Mutation.renewSession': "a new token for the caller's own session; there is no argument to act on anyone else",
  'Mutation.setPasswordWithToken': 'whoever holds a one-time set-password link acts on the account it was made for, and no other',
  'Mutation.changePassword': "the caller's own password, proven by the current one",
  'Mutation.beginTotpEnrollment': "the caller's own second factor; there is no user argument to act on anyone else",
  'Mutation.confirmTotpEnrollment': "the caller's own second factor, proven by a code of the new secret",
  'Mutation.disableTotp': "the caller's own second factor, proven by a current code",
  'Query.me': "the caller's own row, which everyone signed in reads",
  'Query.workflowDefinitions': 'definitions are code, not rows; what the caller may start is each one\'s canStart',
};

/**
 * The event a subscription root shapes. A subscription sent over HTTP is executed like a query, with no event:
 * the client's mistake (BAD_USER_INPUT), not a TypeError masked as an internal error. HTTP refuses such an
 * operation before it runs, for every subscription field (http/subscriptionsOverWebsocket.ts); this is the
 * second line, for any other way a document is executed.
 */
function eventOf<T>(event: T | undefined): T {
  if (event === undefined || event === null) throw badUserInput('Subscriptions run over the websocket (graphql-transport-ws on /graphql), not over HTTP');
  return event;
}

/**
 * The relations of every line of a budgetLines answer (two per line, hundreds of lines) call their
 * resolver methods directly: the same methods, without type-graphql's dispatch around each call (container
 * lookup, middleware chain, parameter list rebuilt and sorted). Only for resolvers that take no middleware,
 * no authorisation and no argument; nothing in the printed schema changes.
 */
function resolveDirectly(schema: GraphQLSchema): void {
  const lineRelations = new BudgetLineRelations();
  replaceFieldResolver<BudgetLineParent, GraphQLContext>(schema, 'BudgetLine', 'businessUnit', (line, ctx) => lineRelations.businessUnit(line, ctx));
  replaceFieldResolver<BudgetLineParent, GraphQLContext>(schema, 'BudgetLine', 'updatedBy', (line, ctx) => lineRelations.updatedBy(line, ctx));
}

/** The SDL as checked in: sorted, so that it only changes when the schema does. */
export function printPlansyncSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
