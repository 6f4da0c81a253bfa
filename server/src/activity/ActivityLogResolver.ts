/**
 * `activityLog`: the activity log for admins, newest first, paged by cursor and filtered by action, actor,
 * subject (what was acted on: a person's page asks for the entries about them) and time, all in the query's
 * WHERE clause.
 */
import { Arg, Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { badUserInput, forbidden } from '../errors.js';
import { decodeCursor, encodeCursor, PageInfo } from '../graphql/connections.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadActivityLog } from '../policies/activity.js';
import { ACTIVITY_ACTIONS } from './activityLog.js';
import { ActivityEntry, ActivityEntryType } from './ActivityEntry.js';

@ObjectType()
class ActivityEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ActivityEntryType)
  node!: ActivityEntryType;
}

@ObjectType()
export class ActivityConnection {
  @Field(() => [ActivityEdge])
  edges!: ActivityEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

const CURSOR_KIND = 'activity';
export const MAX_ACTIVITY_PAGE = 500;
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(ACTIVITY_ACTIONS);

function shown(entry: ActivityEntry): ActivityEntryType {
  return {
    id: entry.id,
    at: entry.at,
    action: entry.action,
    actor: entry.actorEmail !== null ? { id: entry.actorId, email: entry.actorEmail } : null,
    subject: entry.subject,
    details: entry.details,
  };
}

@Resolver()
export class ActivityLogResolver {
  @Query(() => ActivityConnection, {
    description:
      'Who did what to whom, newest first. Admins only. `action` is one of the contract\'s actions; `subject` matches exactly ' +
      '(an email in any case); `since` includes that instant.',
  })
  async activityLog(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('action', () => String, { nullable: true }) action: string | null,
    @Arg('actorEmail', () => String, { nullable: true }) actorEmail: string | null,
    @Arg('since', () => Date, { nullable: true }) since: Date | null,
    @Arg('subject', () => String, { nullable: true }) subject: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ActivityConnection> {
    const viewer = requireViewer(ctx);
    if (!canReadActivityLog(viewer)) throw forbidden('Only admins read the activity log');
    const limit = first ?? 50;
    if (limit < 0 || limit > MAX_ACTIVITY_PAGE) throw badUserInput(`first must be between 0 and ${MAX_ACTIVITY_PAGE}`, 'first');
    if (action != null && !KNOWN_ACTIONS.has(action)) throw badUserInput(`action must be one of ${ACTIVITY_ACTIONS.join(', ')}`, 'action');
    const where: Record<string, unknown> = {};
    if (after != null) where.id = { $lt: decodeCursor(CURSOR_KIND, after) };
    if (action != null) where.action = action;
    if (actorEmail != null) where.actorEmail = actorEmail.trim().toLowerCase();
    if (since != null) where.at = { $gte: since };
    // Subjects that are emails are stored lower-cased (as User.email); the rest (plan names, token names) as
    // typed, so both spellings are looked for.
    if (subject != null) where.subject = { $in: [...new Set([subject.trim(), subject.trim().toLowerCase()])] };
    const rows = await ctx.em.find(ActivityEntry, where, { orderBy: { id: 'desc' }, limit: limit + 1 });
    const edges = rows.slice(0, limit).map((entry) => ({ cursor: encodeCursor(CURSOR_KIND, entry.id), node: shown(entry) }));
    return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
