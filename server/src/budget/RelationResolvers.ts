/**
 * Field resolvers for the relations of budget types, so that any nesting a client asks for works whether
 * the parent query populated the relation or not. Rows reached this way belong to a row the caller was
 * already allowed to read (a line's unit, an audit entry's line), so no further policy applies here. People
 * reached this way (`updatedBy`, `user`, `submittedBy`) show who they are to everyone who reads the row; their
 * details (role, units, organisation) are guarded on the User type itself (directory/UserResolver.ts), on
 * every path including subscriptions.
 */
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { User } from '../directory/User.js';
import type { GraphQLContext } from '../graphql/context.js';
import { loadedRelation } from '../graphql/relations.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BudgetLineType, type BudgetLineParent } from './BudgetLineType.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { CellChange } from './CellChange.js';
import { removedLineSnapshot, type BudgetLineSnapshot } from './lineSnapshot.js';
import { RemovedBudgetLine } from './RemovedBudgetLine.js';

/** The last editor as a line holds it: the entity (or a reference to it), or a snapshot's plain copy. */
type LineEditor = User | NonNullable<BudgetLineSnapshot['updatedBy']>;

@Resolver(() => BudgetLineType)
export class BudgetLineRelations {
  @FieldResolver(() => BusinessUnit)
  businessUnit(@Root() line: BudgetLineParent, @Ctx() ctx: GraphQLContext): BusinessUnit | Promise<BusinessUnit | null> | null {
    return loadedRelation(ctx.em, BusinessUnit, line.businessUnit);
  }

  @FieldResolver(() => User, { nullable: true })
  updatedBy(@Root() line: BudgetLineParent, @Ctx() ctx: GraphQLContext): LineEditor | Promise<LineEditor | null> | null {
    return loadedRelation(ctx.em, User, line.updatedBy);
  }

  /**
   * The line's plan: an audit entry names a unit and a category, region and quarter, which every plan has, so
   * without it the audit log could not say whether a change was to FY2027 or FY2028 (a finance QA pass).
   */
  @FieldResolver(() => BudgetPlan, { description: 'The plan the line belongs to (or belonged to, for a removed line).' })
  plan(@Root() line: BudgetLineParent, @Ctx() ctx: GraphQLContext): BudgetPlan | Promise<BudgetPlan | null> | null {
    if ('planId' in line) return ctx.em.findOne(BudgetPlan, { id: line.planId });
    return loadedRelation(ctx.em, BudgetPlan, line.plan);
  }
}

@Resolver(() => CellChange)
export class CellChangeRelations {
  /** The line, or what it was when it was removed (removeBudgetLines keeps its audit history readable). */
  @FieldResolver(() => BudgetLineType)
  async line(@Root() change: CellChange, @Ctx() ctx: GraphQLContext): Promise<BudgetLineParent> {
    const line = await loadedRelation(ctx.em, BudgetLine, change.line);
    if (line) return line;
    // A removed line: populating found no row, so the relation is empty; the entry's line_id still names it.
    const [entry] = await ctx.em.getConnection().execute<{ line_id: string }[]>('select "line_id" from "cell_change" where "id" = ?', [change.id]);
    const removed = entry && (await ctx.em.findOne(RemovedBudgetLine, { id: entry.line_id }, { populate: ['businessUnit', 'updatedBy'] }));
    if (!removed) throw new Error(`audit entry ${change.id} names a line that is neither in budget_line nor in removed_budget_line`);
    return removedLineSnapshot(removed);
  }

  @FieldResolver(() => User, { nullable: true })
  user(@Root() change: CellChange, @Ctx() ctx: GraphQLContext): User | Promise<User | null> | null {
    return loadedRelation(ctx.em, User, change.user);
  }
}

@Resolver(() => BudgetSubmission)
export class BudgetSubmissionRelations {
  @FieldResolver(() => BusinessUnit)
  async businessUnit(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): Promise<BusinessUnit> {
    return (await loadedRelation(ctx.em, BusinessUnit, submission.businessUnit))!;
  }

  @FieldResolver(() => User, { nullable: true })
  submittedBy(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): User | Promise<User | null> | null {
    return loadedRelation(ctx.em, User, submission.submittedBy);
  }

  @FieldResolver(() => User, { nullable: true })
  reviewedBy(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): User | Promise<User | null> | null {
    return loadedRelation(ctx.em, User, submission.reviewedBy);
  }
}
