/**
 * The viewer's abilities on workflow definitions and steps (`canStart`, `canReadExecutions`, `canGiveInput`),
 * answered from the policies that guard startWorkflow, workflowExecutions and submitStepInput
 * (policies/abilities.ts), so the monitor offers exactly what the server would accept.
 */
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { BudgetPlan } from '../budget/BudgetPlan.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { loadedRelation } from '../graphql/relations.js';
import { canGiveStepInput, canReadExecutionsOf, canStartDefinition } from '../policies/abilities.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import { executionScope } from '../policies/workflowExecution.js';
import { stepDefinition, workflowDefinition, type WorkflowDefinition } from './definitions.js';
import { StepExecution } from './StepExecution.js';
import { WorkflowDefinitionType } from './WorkflowResolver.js';
import { WorkflowExecution } from './WorkflowExecution.js';

@Resolver(() => WorkflowDefinitionType)
export class WorkflowDefinitionAbilities {
  @FieldResolver(() => Boolean, { description: 'Whether the caller may start this workflow (startWorkflow, given valid input).' })
  canStart(@Root() definition: WorkflowDefinition, @Ctx() ctx: GraphQLContext): boolean {
    return canStartDefinition(requireViewer(ctx), definition);
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller sees executions of this workflow (workflowExecutions).' })
  canReadExecutions(@Root() definition: WorkflowDefinition, @Ctx() ctx: GraphQLContext): boolean {
    return canReadExecutionsOf(requireViewer(ctx), definition.key);
  }
}

@Resolver(() => StepExecution)
export class WorkflowStepAbilities {
  @FieldResolver(() => Boolean, {
    description: 'Whether the caller may give the input of this step now (submitStepInput): a manual step waiting for it.',
  })
  async canGiveInput(@Root() step: StepExecution, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    if (step.kind !== 'MANUAL' || step.status !== 'AWAITING_INPUT') return false;
    const execution = await loadedRelation(ctx.em, WorkflowExecution, step.execution);
    const definition = execution && workflowDefinition(execution.definitionKey);
    if (!execution || !definition) return false;
    const inputRoles = stepDefinition(definition, step.key)?.inputRoles;
    if (!canGiveStepInput(viewer, executionScope(execution), { kind: step.kind, status: step.status, inputRoles })) return false;
    // A budget's review refuses a closed plan (steps.ts, finance_review): not offered there. Read now, on a fork.
    if (!execution.plan) return true;
    const plan = await ctx.em.fork().findOne(BudgetPlan, { id: execution.plan.id }, { fields: ['status'] });
    return !plan || isPlanOpen(plan.status);
  }
}
