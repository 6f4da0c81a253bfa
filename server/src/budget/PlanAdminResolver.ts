/**
 * Plans and units administered over GraphQL (admins; everyone else FORBIDDEN): `createBudgetPlan`,
 * `renameBudgetPlan`, `setBudgetPlanStatus`, `createBusinessUnit` and `renameBusinessUnit`, which planAdmin.ts carries out and the policies guard.
 *
 * Out of scope: reading plans and units (BudgetLineResolver.ts).
 */
import { Arg, Ctx, Field, ID, InputType, Int, Mutation, registerEnumType, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { BudgetPlan, PlanStatusEnum, type PlanStatus } from './BudgetPlan.js';
import { CARRY_OVERS, createPlan, createUnit, renamePlan, renameUnit, setPlanStatus, setRequireCompleteSubmission, type CarryOver } from './planAdmin.js';

export const CarryOverEnum = Object.fromEntries(CARRY_OVERS.map((c) => [c, c])) as { [K in CarryOver]: K };
registerEnumType(CarryOverEnum, {
  name: 'CarryOver',
  description:
    "What a copied plan takes over: NONE (values empty, priorYearActual null), BUDGET_AS_PRIOR_YEAR (the source's " +
    'budgetAmount becomes priorYearActual) or VALUES (every value copied).',
});

@InputType()
export class CreateBudgetPlanInput {
  @Field(() => String, { description: 'Unique among plans.' })
  name!: string;

  @Field(() => Int)
  fiscalYear!: number;

  @Field(() => ID, { nullable: true, description: 'A plan whose lines the new one takes; without it, every unit x category x region x quarter.' })
  copyFromPlanId?: string | null;

  @Field(() => CarryOverEnum, { nullable: true, defaultValue: 'NONE' })
  carryOver?: CarryOver | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Units can be submitted only once every line has a budget amount.' })
  requireCompleteSubmission?: boolean | null;
}

@Resolver()
export class PlanAdminResolver {
  @Mutation(() => BudgetPlan, { description: 'Creates a plan, empty or as a copy of another (admins). A taken name: BAD_USER_INPUT.' })
  createBudgetPlan(@Arg('input', () => CreateBudgetPlanInput) input: CreateBudgetPlanInput, @Ctx() ctx: GraphQLContext): Promise<BudgetPlan> {
    return createPlan(ctx.em, requireViewer(ctx), input);
  }

  @Mutation(() => BudgetPlan, { description: 'Closes a plan (read-only on every path) or reopens it (admins).' })
  setBudgetPlanStatus(
    @Arg('planId', () => ID) planId: string,
    @Arg('status', () => PlanStatusEnum) status: PlanStatus,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetPlan> {
    return setPlanStatus(ctx.em, ctx.services.events, requireViewer(ctx), planId, status);
  }

  @Mutation(() => BudgetPlan, {
    description:
      'Renames a plan (admins). Names are unique without regard to case (a name another plan has: BAD_USER_INPUT); ' +
      'the plan keeps its id, lines, submissions and history.',
  })
  renameBudgetPlan(
    @Arg('planId', () => ID) planId: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetPlan> {
    return renamePlan(ctx.em, requireViewer(ctx), planId, name);
  }

  @Mutation(() => BudgetPlan, {
    description: 'Sets whether units of the plan can be submitted only once every line has a budget amount (admins).',
  })
  setBudgetPlanRequireCompleteSubmission(
    @Arg('planId', () => ID) planId: string,
    @Arg('required', () => Boolean) required: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetPlan> {
    return setRequireCompleteSubmission(ctx.em, requireViewer(ctx), planId, required);
  }

  @Mutation(() => BusinessUnit, { description: 'Creates a business unit with a DRAFT submission in every open plan (admins).' })
  createBusinessUnit(
    @Arg('code', () => String, { description: 'Matches [A-Z][A-Z0-9_]{1,31}; a taken code: BAD_USER_INPUT.' }) code: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BusinessUnit> {
    return createUnit(ctx.em, requireViewer(ctx), code, name);
  }

  @Mutation(() => BusinessUnit, {
    description:
      'Renames a business unit (admins); its code, lines, submissions, people and history stay. No unit with that code: NOT_FOUND.',
  })
  renameBusinessUnit(
    @Arg('code', () => String) code: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BusinessUnit> {
    return renameUnit(ctx.em, requireViewer(ctx), code, name);
  }
}
