/**
 * A person's notifications over GraphQL (CONTRACT.md, "The grid's history, notifications and the review loop"):
 * the caller's own, read and marked by the caller only; `notificationAdded` pushes them live.
 */
import { Arg, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription, registerEnumType } from 'type-graphql';
import { BudgetLine } from '../budget/BudgetLine.js';
import { BudgetLineType } from '../budget/BudgetLineType.js';
import { User } from '../directory/User.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { readableOrNull } from '../policies/authorize.js';
import { canReadNotification } from '../policies/notification.js';
import { executionScope } from '../policies/workflowExecution.js';
import { liveTopics } from '../realtime/liveContext.js';
import { WorkflowExecution } from '../workflow/WorkflowExecution.js';
import { NOTIFICATION_KINDS, type NotificationKind, type NotificationRecord, type NotificationTopics } from './events.js';
import { listNotifications, markNotificationsRead } from './notifications.js';

export const NotificationKindEnum = Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, k])) as { [K in NotificationKind]: K };
registerEnumType(NotificationKindEnum, {
  name: 'NotificationKind',
  description:
    'CELL_OVERWRITTEN: another person changed a cell whose value you set last. SUBMISSION_REVIEWED: your unit was approved or ' +
    'rejected (the comment in the message). STEP_AWAITING_INPUT: a manual step you may answer. STEP_FAILED: a step failed ' +
    '(to admins, and whoever started the execution).',
});

@ObjectType({ description: "Something that happened that the caller should know of; only the recipient's own are ever shown." })
export class Notification {
  @Field(() => ID)
  id!: string;

  @Field(() => NotificationKindEnum)
  kind!: NotificationKind;

  @Field(() => Date)
  at!: Date;

  @Field(() => Boolean)
  read!: boolean;

  @Field(() => String)
  message!: string;

  @Field(() => String, { nullable: true, description: 'CELL_OVERWRITTEN: the column of the cell.' })
  column!: string | null;
}

function publicNotification(record: NotificationRecord): Notification & { record: NotificationRecord } {
  return {
    id: record.id,
    kind: record.kind,
    at: record.at,
    read: record.readAt !== null,
    message: record.message,
    column: record.column,
    record,
  };
}

type NotificationRoot = Notification & { record: NotificationRecord };

@Resolver(() => Notification)
export class NotificationResolver {
  @Query(() => [Notification], { description: "The caller's own notifications, newest first (first: default 50, at most 200)." })
  async notifications(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('unreadOnly', () => Boolean, { nullable: true }) unreadOnly: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Notification[]> {
    const records = await listNotifications(ctx.em, requireViewer(ctx), { first: first ?? null, unreadOnly: unreadOnly ?? false });
    return records.map(publicNotification);
  }

  @Mutation(() => Int, { description: "Marks the caller's own unread notifications read: those of `ids` (others' are ignored), or all. How many." })
  async markNotificationsRead(@Arg('ids', () => [ID], { nullable: true }) ids: string[] | null, @Ctx() ctx: GraphQLContext): Promise<number> {
    return markNotificationsRead(ctx.em, requireViewer(ctx), ids ?? null);
  }

  @Subscription(() => Notification, {
    description: "The caller's own notifications as they are added.",
    subscribe: ({ context }) => {
      const ctx = context as GraphQLContext;
      const viewer = requireViewer(ctx);
      const live = liveTopics<NotificationTopics>(ctx);
      canReadNotification(viewer, { recipientId: viewer.userId, businessUnitId: null });
      return live.fanout('NOTIFICATION_ADDED').follow(live.delivery, { visible: (record) => canReadNotification(viewer, record) });
    },
  })
  notificationAdded(@Root() record: NotificationRecord): Notification {
    return publicNotification(record);
  }

  @FieldResolver(() => BudgetLineType, { nullable: true, description: 'CELL_OVERWRITTEN: the line of the cell.' })
  async line(@Root() notification: NotificationRoot, @Ctx() ctx: GraphQLContext): Promise<BudgetLine | null> {
    const id = notification.record.lineId;
    return id ? ctx.em.findOne(BudgetLine, { id }) : null;
  }

  @FieldResolver(() => User, { nullable: true, description: 'Who made the change (null once that person is deleted).' })
  async actor(@Root() notification: NotificationRoot, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    const id = notification.record.actorId;
    return id ? ctx.em.findOne(User, { id }) : null;
  }

  @FieldResolver(() => WorkflowExecution, {
    nullable: true,
    description: 'The execution the notification is about; null once the recipient may no longer read it, as workflowExecution(id).',
  })
  async execution(@Root() notification: NotificationRoot, @Ctx() ctx: GraphQLContext): Promise<WorkflowExecution | null> {
    const id = notification.record.executionId;
    const execution = id ? await ctx.em.findOne(WorkflowExecution, { id }) : null;
    // A notification outlives its recipient's rights (a leader moved to another unit, a partner admin to another
    // organisation): its execution, with every step's input and output, is shown only while they may still read it.
    return readableOrNull(requireViewer(ctx), 'WorkflowExecution', execution, executionScope);
  }
}
