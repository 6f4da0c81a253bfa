/**
 * A budget submission's review workflow, as a field of BudgetSubmission: the workflow knows submissions (it
 * runs them), a submission does not know workflows, so the field lives here.
 */
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { BudgetSubmission } from '../budget/BudgetSubmission.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { readableOrNull } from '../policies/authorize.js';
import { executionScope } from '../policies/workflowExecution.js';
import { WorkflowExecution } from './WorkflowExecution.js';

@Resolver(() => BudgetSubmission)
export class SubmissionWorkflowResolver {
  @FieldResolver(() => WorkflowExecution, { nullable: true, description: 'The budget_submission workflow reviewing it.' })
  async execution(@Root() submission: Pick<BudgetSubmission, 'executionId'>, @Ctx() ctx: GraphQLContext): Promise<WorkflowExecution | null> {
    const execution = submission.executionId ? await ctx.em.findOne(WorkflowExecution, { id: submission.executionId }) : null;
    // Null for a caller who may not see it (a VIEWER reads the unit, not its workflow), as workflowExecution(id).
    return readableOrNull(requireViewer(ctx), 'WorkflowExecution', execution, executionScope);
  }
}
