/**
 * `auditLog`: the cell changes the caller may see, newest first, a page at a time (keyset on the id). The
 * scope is in the query (the caller's units: policies/cellChange.ts), never filtered after fetching; a
 * `lineId` the caller may not read answers exactly like a missing one (policies/authorize.ts).
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

const CURSOR_KIND = 'cell_change';
const MAX_PAGE = 500;

@Resolver()
export class AuditLogResolver {
  @Query(() => CellChangeConnection, {
    description: 'Cell changes the caller may see, newest first; `after` continues from a cursor; `lineId` narrows to one line.',
  })
  async auditLog(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('lineId', () => ID, { nullable: true }) lineId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CellChangeConnection> {
    const viewer = requireViewer(ctx);
    const limit = first ?? 50;
    if (limit < 0 || limit > MAX_PAGE) throw badUserInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    const afterId = after != null ? decodeCursor(CURSOR_KIND, after) : null;

    const where: Record<string, unknown> = {};
    if (lineId != null) {
      // A removed line's history stays readable (removeBudgetLines keeps what the line was).
      const line = isUuid(lineId) ? ((await ctx.em.findOne(BudgetLine, { id: lineId })) ?? (await ctx.em.findOne(RemovedBudgetLine, { id: lineId }))) : null;
      authorize(viewer, 'read', 'BudgetLine', line && { unitId: line.businessUnit.id });
      where.line = line!.id;
    }
    const unitIds = unitIdsOf(readableCellChanges(viewer));
    if (unitIds?.length === 0) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    if (unitIds !== null) where.businessUnit = { $in: unitIds };
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
    const edges = page.map((node) => ({ cursor: encodeCursor(CURSOR_KIND, node.id), node }));
    return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
