/**
 * `me { can { … } }`: what the signed-in person may open and do, answered by the server from the same
 * policies that guard each operation (policies/abilities.ts), so the client never derives it from a role.
 * Only the person themselves reads it: a User reached any other way (`users`, an editor, an author) answers
 * FORBIDDEN for `can`, as abilities are the viewer's, not a property of the row.
 */
import { Ctx, Field, FieldResolver, ObjectType, Resolver, Root } from 'type-graphql';
import { BusinessUnit } from './BusinessUnit.js';
import { forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { abilitiesOf, type Abilities } from '../policies/abilities.js';
import { User } from './User.js';

@ObjectType('Abilities', { description: 'What the signed-in person may open and do. Each operation still checks for itself.' })
export class AbilitiesType implements Abilities {
  @Field(() => Boolean, { description: "Reads at least one unit's budget (budgetLines, the grid)." })
  readBudgets!: boolean;

  @Field(() => Boolean, { description: "Reads at least one unit's audit entries (auditLog)." })
  readAuditLog!: boolean;

  @Field(() => Boolean, { description: "Reviews (approves or rejects) at least one unit's submission (finance_review)." })
  reviewSubmissions!: boolean;

  @Field(() => Boolean, { description: 'Sees the executions of at least one kind of workflow (workflowExecutions).' })
  readWorkflows!: boolean;

  @Field(() => Boolean, { description: 'Reads people besides themselves (users).' })
  listUsers!: boolean;

  @Field(() => Boolean, { description: "Changes people's roles and units and reads the sign-in log (setUserAccess, signInEvents)." })
  manageUsers!: boolean;

  @Field(() => Boolean, { description: 'Reads the activity log: who did what to whom (activityLog).' })
  readActivityLog!: boolean;

  @Field(() => Boolean, { description: 'Creates, closes and reopens plans, adds and removes their lines, and creates business units (createBudgetPlan, setBudgetPlanStatus, addBudgetLines, removeBudgetLines, createBusinessUnit).' })
  managePlans!: boolean;
}

@Resolver(() => User)
export class AbilitiesResolver {
  @FieldResolver(() => AbilitiesType, {
    description: 'What the signed-in person may do (read it on `me`). FORBIDDEN on anyone but the signed-in person.',
  })
  async can(@Root() user: Pick<User, 'id'>, @Ctx() ctx: GraphQLContext): Promise<Abilities> {
    const viewer = requireViewer(ctx);
    if (user.id !== viewer.userId) throw forbidden('Abilities are read by the person themselves, on `me`');
    // Unit rules are asked per unit: of the units that exist (a handful of rows).
    const units = await ctx.em.find(BusinessUnit, {});
    return abilitiesOf(viewer, units.map((unit) => unit.id));
  }
}
