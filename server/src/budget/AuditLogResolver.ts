/**
 * `auditLog`: the cell changes the caller may see, newest first, a page at a time (keyset on the id). The
 * scope is in the query (the caller's units: policies/cellChange.ts), never filtered after fetching; a
 * `lineId` the caller may not read answers exactly like a missing one (policies/authorize.ts).
 *
 * Filters (all optional, combined with AND, in the WHERE clause with the scope): a plan by id (as `budgetLines`
 * answers: NOT_FOUND for no such plan, FORBIDDEN for someone who may read no plan), a unit by code (one the caller
 * may not read, or none by that code: FORBIDDEN, as `budgetLines` answers), a person by email (nobody by that
 * email: an empty page, as for someone with no entries), a column, and `since`/`until` (both inclusive). A
 * cursor carries a digest of the filters it was given out with (`auditFilters.ts`): with other filters it is
 * BAD_USER_INPUT, never a page of something else. Without filters the cursor is as it always was.
 *
 * Out of scope: writing entries (the grid's projection, collab/gridProjection.ts, through lineStore.ts) and
 * an entry's line and author (RelationResolvers.ts).
 */
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import { unitIdsOf } from '../policies/businessUnit.js';
import { readableCellChanges } from '../policies/cellChange.js';
import { badUserInput } from '../errors.js';
import { decodeCursor, encodeCursor, PageInfo } from '../graphql/connections.js';
import { BudgetLine } from './BudgetLine.js';
import { CellChange } from './CellChange.js';
import { RemovedBudgetLine } from './RemovedBudgetLine.js';
import { auditCursorKind, normalizeAuditFilters, type AuditFilters } from './auditFilters.js';
import { readablePlan, readableUnitByCode } from './unitLookup.js';
import { User } from '../directory/User.js';

@ObjectType()
class CellChangeEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => CellChange)
  node!: CellChange;
}

@ObjectType()
export class CellChangeConnection {
  @Field(() => [CellChangeEdge])
  edges!: CellChangeEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

const MAX_PAGE = 500;

@Resolver()
export class AuditLogResolver {
  @Query(() => CellChangeConnection, {
    description:
      'Cell changes the caller may see, newest first; `after` continues from a cursor given out with the same filters; ' +
      '`lineId` narrows to one line, `planId` to a plan (NOT_FOUND if there is none), `businessUnitCode` to a unit (FORBIDDEN if the caller may not read it), `userEmail` ' +
      'to one person\'s changes, `column` to one column, `since`/`until` to a time range (inclusive; since after until: ' +
      'BAD_USER_INPUT).',
  })
  async auditLog(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('lineId', () => ID, { nullable: true }) lineId: string | null,
    @Arg('planId', () => ID, { nullable: true }) planId: string | null,
    @Arg('businessUnitCode', () => String, { nullable: true }) businessUnitCode: string | null,
    @Arg('userEmail', () => String, { nullable: true }) userEmail: string | null,
    @Arg('column', () => String, { nullable: true }) column: string | null,
    @Arg('since', () => Date, { nullable: true }) since: Date | null,
    @Arg('until', () => Date, { nullable: true }) until: Date | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CellChangeConnection> {
    const viewer = requireViewer(ctx);
    const limit = first ?? 50;
    if (limit < 0 || limit > MAX_PAGE) throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    const filters: AuditFilters = normalizeAuditFilters({ planId, businessUnitCode, userEmail, column, since, until });
    const cursorKind = auditCursorKind(filters);
    const afterId = after != null ? decodeCursor(cursorKind, after) : null;

    const where: Record<string, unknown> = {};
    if (lineId != null) {
      // A removed line's history stays readable (removeBudgetLines keeps what the line was).
      const line = isUuid(lineId) ? ((await ctx.em.findOne(BudgetLine, { id: lineId })) ?? (await ctx.em.findOne(RemovedBudgetLine, { id: lineId }))) : null;
      authorize(viewer, 'read', 'BudgetLine', line && { unitId: line.businessUnit.id });
      where.line = line!.id;
    }
    const empty = { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    if (filters.planId != null) where.plan = (await readablePlan(ctx.em, viewer, filters.planId)).id;
    if (filters.businessUnitCode != null) {
      // The caller's scope is checked here: a readable unit is within it, so the WHERE below needs no $in.
      where.businessUnit = (await readableUnitByCode(ctx.em, viewer, filters.businessUnitCode)).id;
    } else {
      const unitIds = unitIdsOf(readableCellChanges(viewer));
      if (unitIds?.length === 0) return empty;
      if (unitIds !== null) where.businessUnit = { $in: unitIds };
    }
    if (filters.userEmail != null) {
      // Looked up first so that the query stays on cell_change's (user_id, id) index; nobody: nothing to show.
      // Whole (no `fields`): a partial entity in the identity map would answer `user { email }` below without it.
      const person = await ctx.em.findOne(User, { email: filters.userEmail });
      if (!person) return empty;
      where.user = person.id;
    }
    if (filters.column != null) where.column = filters.column;
    if (filters.since != null || filters.until != null) {
      where.at = { ...(filters.since != null && { $gte: filters.since }), ...(filters.until != null && { $lte: filters.until }) };
    }
    if (afterId !== null) where.id = { $lt: afterId };

    const rows = await ctx.em.find(CellChange, where, {
      orderBy: { id: 'desc' },
      limit: limit + 1,
      populate: ['user', 'line'],
      // Separate queries, not joins: a joined line would drop the entries of removed lines (no row to join), whose
      // `line` then comes from removed_budget_line (RelationResolvers.ts).
      strategy: 'select-in',
    });
    const page = rows.slice(0, limit);
    const edges = page.map((node) => ({ cursor: encodeCursor(cursorKind, node.id), node }));
    return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
