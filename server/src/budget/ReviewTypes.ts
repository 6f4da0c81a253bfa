/** The review loop's GraphQL types: a submission's frozen versions and the cells that changed between two. */
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SUBMISSION_VERSION_STATUSES, type SubmissionVersionStatus } from './submissionVersions.js';

export const SubmissionVersionStatusEnum = Object.fromEntries(SUBMISSION_VERSION_STATUSES.map((s) => [s, s])) as {
  [K in SubmissionVersionStatus]: K;
};
registerEnumType(SubmissionVersionStatusEnum, {
  name: 'SubmissionVersionStatus',
  description: 'What became of a submitted version: under review (SUBMITTED), APPROVED, REJECTED, or WITHDRAWN before a decision.',
});

@ObjectType({ description: "One submit of a unit's budget: what was submitted, frozen, and what the review said of it." })
export class SubmissionVersion {
  @Field(() => Int, { description: '1 for the first submit, +1 at each.' })
  version!: number;

  @Field(() => SubmissionVersionStatusEnum)
  status!: SubmissionVersionStatus;

  @Field(() => Date)
  submittedAt!: Date;

  /** Resolved from submittedById (ReviewResolver.ts). */
  submittedById!: string | null;

  @Field(() => Date, { nullable: true })
  reviewedAt!: Date | null;

  reviewedById!: string | null;

  @Field(() => String, { nullable: true })
  reviewComment!: string | null;

  @Field(() => Float, { description: 'The sum of budgetAmount as submitted.' })
  total!: number;

  @Field(() => Int, { description: 'How many lines were submitted.' })
  lineCount!: number;
}

@ObjectType({ description: 'A line as it was submitted (it may have been removed since).' })
export class SubmittedLine {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  productCategory!: string;

  @Field(() => String)
  region!: string;

  @Field(() => String)
  quarter!: string;
}

@ObjectType({ description: 'A cell whose submitted value differs between two versions: amounts as decimal text, an empty comment as null.' })
export class CellDiff {
  @Field(() => SubmittedLine)
  line!: SubmittedLine;

  @Field(() => String, { description: 'budgetAmount, forecastSales or comment.' })
  column!: string;

  @Field(() => String, { nullable: true, description: 'The value in the older version (null: empty, or the line was not in it).' })
  before!: string | null;

  @Field(() => String, { nullable: true, description: 'The value in the newer version (null: empty, or the line was removed).' })
  after!: string | null;
}

@ObjectType({ description: 'What the submit dialog tells before a unit is submitted.' })
export class SubmissionReadiness {
  @Field(() => Int)
  lineCount!: number;

  @Field(() => Int, { description: 'Lines without a budget amount.' })
  missingBudget!: number;

  @Field(() => Int, { description: 'Lines without a forecast of sales.' })
  missingForecast!: number;

  @Field(() => Int, {
    description: 'Lines whose budget differs from the prior-year actual by more than farThresholdPercent, without a comment.',
  })
  farFromLastYearWithoutComment!: number;

  @Field(() => Float, { description: 'The threshold used for farFromLastYearWithoutComment, in percent (50).' })
  farThresholdPercent!: number;

  @Field(() => Float, { description: 'The sum of budgetAmount now.' })
  total!: number;

  @Field(() => Float, { description: 'The sum of priorYearActual.' })
  priorYearTotal!: number;

  @Field(() => Boolean, { description: "Whether the plan requires every line to have a budget before a submit (BudgetPlan.requireCompleteSubmission)." })
  completeRequired!: boolean;

  @Field(() => Boolean, { description: 'Whether submitBudget would accept the lines as they are (the rights and status aside).' })
  submittable!: boolean;
}

@ObjectType({ description: 'An approved budget reopened by an admin (reopenSubmission): when, by whom, and why.' })
export class SubmissionReopening {
  @Field(() => Date)
  at!: Date;

  @Field(() => String, { description: 'The reason the admin gave.' })
  reason!: string;

  @Field(() => String, { nullable: true, description: 'The display name of the admin who reopened it (null: no longer known).' })
  reopenedByName!: string | null;
}
