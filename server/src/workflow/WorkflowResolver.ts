/**
 * Workflows over GraphQL: the definitions; the executions the caller may see (scoped in the query by
 * policies/workflowExecution.ts; one that is hidden reads as null, like a missing one); starting one, giving
 * a manual step's input, retrying a failed step and cancelling an execution (the engine's, engine.ts and
 * cancellation.ts, which ask the policies); and
 * the `workflowEvents` stream (eventStream.ts: replay from a cursor, then live, in cursor order).
 *
 * Fields of WorkflowExecution resolve from an entity or from the snapshot of one an event carries.
 *
 * Out of scope: the abilities on definitions and steps (WorkflowAbilityResolvers.ts) and a submission's
 * review workflow (SubmissionWorkflowResolver.ts).
 */
import { Arg, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { Organization } from '../directory/Organization.js';
import { User } from '../directory/User.js';
import { badUserInput } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { encodeCursor, PageInfo } from '../graphql/connections.js';
import { loadedRelation } from '../graphql/relations.js';
import { isUuid } from '../ids.js';
import { liveTopics } from '../realtime/liveContext.js';
import { can, readableOrNull } from '../policies/authorize.js';
import { executionScope, readableExecutions } from '../policies/workflowExecution.js';
import { WORKFLOWS, type StepDefinition, type WorkflowDefinition } from './definitions.js';
import { StepExecution } from './StepExecution.js';
import { EXECUTION_STATUSES, StepKindEnum, type ExecutionStatus, type StepKind } from './statuses.js';
import { workflowEventStream, EVENT_CURSOR } from './eventStream.js';
import type { WorkflowEventRecord, WorkflowTopics } from './events.js';
import { WorkflowExecution } from './WorkflowExecution.js';

@ObjectType('WorkflowStepDefinition')
class StepDefinitionType {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => StepKindEnum)
  kind!: StepKind;

  @Field(() => GraphQLJSON, { nullable: true, description: 'JSON schema of the input of a manual step.' })
  inputSchema?: object | null;

  @Field(() => [String], { nullable: true, description: 'Roles allowed to give the input, when the step restricts it.' })
  inputRoles?: readonly string[] | null;
}

@ObjectType('WorkflowDefinition')
export class WorkflowDefinitionType {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => Boolean, { description: 'False for workflows started by another operation (budget_submission: submitBudget).' })
  startable!: boolean;

  @Field(() => GraphQLJSON)
  inputSchema!: object;

  @Field(() => [StepDefinitionType])
  steps!: readonly StepDefinition[];
}

@ObjectType()
class WorkflowExecutionEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => WorkflowExecution)
  node!: WorkflowExecution;
}

@ObjectType()
class WorkflowExecutionConnection {
  @Field(() => [WorkflowExecutionEdge])
  edges!: WorkflowExecutionEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => String, {
    description:
      'The newest workflow event when this page was read: give it as `after` to workflowEvents to follow every ' +
      'change since, with nothing missed between this read and the subscription.',
  })
  eventCursor!: string;
}

@ObjectType('WorkflowEvent', { description: 'One status change of an execution (stepKey null) or of one of its steps.' })
export class WorkflowEventType {
  @Field(() => String, { description: 'Give it as `after` to resume right after this event.' })
  cursor!: string;

  @Field(() => ID)
  executionId!: string;

  @Field(() => String, { nullable: true })
  stepKey!: string | null;

  @Field(() => String)
  status!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => WorkflowExecution, { description: 'The execution as of this event.' })
  execution!: WorkflowEventRecord['execution'];
}

/** An event as subscribers receive it, its cursor opaque; shaped once, however many subscribers it reaches. */
export function publicEvent(event: WorkflowEventRecord): WorkflowEventType {
  let shaped = publicEvents.get(event);
  if (!shaped) publicEvents.set(event, (shaped = { ...event, cursor: encodeCursor(EVENT_CURSOR, event.cursor) }));
  return shaped;
}

const CURSOR_KIND = 'workflow_execution';
/** Events as subscribers receive them (opaque cursor), by the event the bus delivered. */
const publicEvents = new WeakMap<WorkflowEventRecord, WorkflowEventType>();
const MAX_PAGE = 200;

@Resolver(() => WorkflowExecution)
export class WorkflowResolver {
  @Query(() => [WorkflowDefinitionType])
  workflowDefinitions(@Ctx() ctx: GraphQLContext): readonly WorkflowDefinition[] {
    requireViewer(ctx);
    return WORKFLOWS;
  }

  @Query(() => WorkflowExecutionConnection, { description: 'Executions the caller may see, newest first.' })
  async workflowExecutions(
    @Arg('status', () => String, { nullable: true }) status: string | null,
    @Arg('definitionKey', () => String, { nullable: true }) definitionKey: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowExecutionConnection> {
    const viewer = requireViewer(ctx);
    const limit = first ?? 50;
    if (limit < 0 || limit > MAX_PAGE) throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    if (status != null && !EXECUTION_STATUSES.includes(status as ExecutionStatus)) {
      throw badUserInput(`status must be one of ${EXECUTION_STATUSES.join(', ')}`, 'status');
    }
    if (definitionKey != null && !WORKFLOWS.some((w) => w.key === definitionKey)) {
      throw badUserInput(`definitionKey must be one of ${WORKFLOWS.map((w) => w.key).join(', ')}`, 'definitionKey');
    }
    const scope = readableExecutions(viewer);
    // Read before the rows: every event up to this cursor is reflected in them, later ones replay after it.
    const eventCursor = await this.newestEventCursor(ctx);
    const empty = { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, eventCursor };
    if (scope.kind === 'none') return empty;
    const where: Record<string, unknown>[] = [];
    if (scope.kind === 'some') {
      const only = scope.where;
      if (definitionKey != null && !only.definitionKeys.includes(definitionKey)) return empty;
      where.push({ definitionKey: { $in: [...only.definitionKeys] } });
      if (only.organizationId) where.push({ organization: only.organizationId });
      if (only.businessUnitIds) where.push({ businessUnit: { $in: only.businessUnitIds } });
    }
    if (status != null) where.push({ status });
    if (definitionKey != null) where.push({ definitionKey });
    if (after != null) {
      // Keyset pagination on (createdAt, id), newest first; the cursor carries both.
      const [at, id] = Buffer.from(decodeCursorValue(after), 'base64url').toString().split('|');
      const createdAt = new Date(at);
      if (!isUuid(id) || Number.isNaN(createdAt.getTime())) throw badUserInput('after is not a cursor this query gave out', 'after');
      where.push({ $or: [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }] });
    }
    const rows = await ctx.em.find(WorkflowExecution, { $and: where }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const edges = page.map((node) => ({
      cursor: encodeCursor(CURSOR_KIND, `${Buffer.from(`${node.createdAt.toISOString()}|${node.id}`).toString('base64url')}`),
      node,
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null }, eventCursor };
  }

  /** The cursor of the newest stored event ("0" before the first one), which workflowEvents resumes after. */
  private async newestEventCursor(ctx: GraphQLContext): Promise<string> {
    const [{ max }] = await ctx.em.getConnection().execute<{ max: string | null }[]>('SELECT max(id) AS max FROM workflow_event');
    return encodeCursor(EVENT_CURSOR, max ?? '0');
  }

  @Query(() => WorkflowExecution, { nullable: true, description: 'Null when it does not exist or the caller may not see it.' })
  async workflowExecution(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<WorkflowExecution | null> {
    const viewer = requireViewer(ctx);
    const execution = isUuid(id) ? await ctx.em.findOne(WorkflowExecution, { id }) : null;
    return readableOrNull(viewer, 'WorkflowExecution', execution, executionScope);
  }

  @Mutation(() => WorkflowExecution)
  async startWorkflow(
    @Arg('definitionKey', () => String) definitionKey: string,
    @Arg('input', () => GraphQLJSON, { nullable: true }) input: unknown,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowExecution> {
    return ctx.services.workflows.startExecution(requireViewer(ctx), definitionKey, input);
  }

  @Mutation(() => WorkflowExecution, {
    description: "Gives the input of a manual step that is AWAITING_INPUT. A budget's finance_review in a closed plan: FORBIDDEN (reopen the plan first).",
  })
  async submitStepInput(
    @Arg('executionId', () => ID) executionId: string,
    @Arg('stepKey', () => String) stepKey: string,
    @Arg('input', () => GraphQLJSON) input: unknown,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowExecution> {
    return ctx.services.workflows.submitStepInput(requireViewer(ctx), executionId, stepKey, input);
  }

  @Mutation(() => WorkflowExecution, { description: 'Runs a FAILED step again.' })
  async retryStep(
    @Arg('executionId', () => ID) executionId: string,
    @Arg('stepKey', () => String) stepKey: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowExecution> {
    return ctx.services.workflows.retryStep(requireViewer(ctx), executionId, stepKey);
  }

  @Mutation(() => WorkflowExecution, {
    description:
      'Cancels a RUNNING, AWAITING_INPUT or FAILED execution (whoever may drive it): its unfinished steps SKIPPED; a cancelled ' +
      'budget_submission still under review puts the unit back to DRAFT (in a closed plan: FORBIDDEN); a decided one keeps its ' +
      'decision. A finished execution: CONFLICT.',
  })
  async cancelExecution(
    @Arg('executionId', () => ID) executionId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowExecution> {
    return ctx.services.workflows.cancelExecution(requireViewer(ctx), executionId, reason ?? null);
  }

  @Subscription(() => WorkflowEventType, {
    description:
      'Status changes the caller may see, of one execution or all. With `after`, every such event after that cursor is ' +
      'replayed first, then live ones follow: no gap, no duplicate.',
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const live = liveTopics<WorkflowTopics>(ctx);
      return workflowEventStream(() => ctx.em, live.fanout('WORKFLOW_EVENT_ORDERED'), live.delivery, requireViewer(ctx), {
        executionId: args.executionId ?? null,
        after: args.after ?? null,
      });
    },
  })
  workflowEvents(
    @Root() event: WorkflowEventRecord,
    @Arg('executionId', () => ID, { nullable: true }) _executionId: string | null,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
  ): WorkflowEventType {
    return publicEvent(event);
  }

  // -------------------------------------------------------------------------------------------------------
  // Fields of WorkflowExecution. The root may be an entity or an event's snapshot of one.

  @FieldResolver(() => [StepExecution])
  async steps(@Root() execution: Pick<WorkflowExecution, 'id'>, @Ctx() ctx: GraphQLContext): Promise<StepExecution[]> {
    return ctx.em.find(StepExecution, { execution: execution.id }, { orderBy: { position: 'asc' } });
  }

  @FieldResolver(() => Organization, { nullable: true })
  async organization(@Root() execution: WorkflowExecution | WorkflowEventRecord['execution'], @Ctx() ctx: GraphQLContext): Promise<Organization | null> {
    const row = execution instanceof WorkflowExecution ? execution : await ctx.em.findOne(WorkflowExecution, { id: execution.id });
    return loadedRelation(ctx.em, Organization, row?.organization);
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who started it (null once that person is deleted). Their details follow the User rules.' })
  async requestedBy(@Root() execution: WorkflowExecution | WorkflowEventRecord['execution'], @Ctx() ctx: GraphQLContext): Promise<User | null> {
    const row = execution instanceof WorkflowExecution ? execution : await ctx.em.findOne(WorkflowExecution, { id: execution.id });
    return loadedRelation(ctx.em, User, row?.requestedBy);
  }

  @FieldResolver(() => BusinessUnit, { nullable: true, description: 'The unit of a budget_submission.' })
  async businessUnit(@Root() execution: WorkflowExecution | WorkflowEventRecord['execution'], @Ctx() ctx: GraphQLContext): Promise<BusinessUnit | null> {
    const row = execution instanceof WorkflowExecution ? execution : await ctx.em.findOne(WorkflowExecution, { id: execution.id });
    return loadedRelation(ctx.em, BusinessUnit, row?.businessUnit);
  }

  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description:
      'The input it was started with (new_partner: the organisation name; an offboarding: the person or organisation, and what it removes as listed at its start).',
  })
  async input(@Root() execution: WorkflowExecution | WorkflowEventRecord['execution'], @Ctx() ctx: GraphQLContext): Promise<unknown> {
    const row = execution instanceof WorkflowExecution ? execution : await ctx.em.findOne(WorkflowExecution, { id: execution.id });
    return row?.input ?? null;
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may retry steps and give input (manual steps may restrict it further).' })
  async canDrive(@Root() execution: WorkflowExecution | WorkflowEventRecord['execution'], @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const row = execution instanceof WorkflowExecution ? execution : await ctx.em.findOne(WorkflowExecution, { id: execution.id });
    return !!row && can(requireViewer(ctx), 'drive', 'WorkflowExecution', executionScope(row));
  }
}

/** The payload of one of our cursors, or BAD_USER_INPUT. */
function decodeCursorValue(cursor: string): string {
  const decoded = cursor.length <= 300 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!decoded.startsWith(`${CURSOR_KIND}:`)) throw badUserInput('after is not a cursor this query gave out', 'after');
  return decoded.slice(CURSOR_KIND.length + 1);
}

