/** Statuses and kinds of workflows, as the contract names them, registered as GraphQL enums. */
import { registerEnumType } from 'type-graphql';

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const EXECUTION_STATUSES = ['RUNNING', 'AWAITING_INPUT', 'FAILED', 'COMPLETED', 'CANCELLED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const ExecutionStatusEnum = asEnum(EXECUTION_STATUSES);
registerEnumType(ExecutionStatusEnum, { name: 'ExecutionStatus' });

export const STEP_STATUSES = ['PENDING', 'RUNNING', 'AWAITING_INPUT', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const StepStatusEnum = asEnum(STEP_STATUSES);
registerEnumType(StepStatusEnum, { name: 'StepStatus' });

export const STEP_KINDS = ['AUTO', 'MANUAL'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
export const StepKindEnum = asEnum(STEP_KINDS);
registerEnumType(StepKindEnum, { name: 'StepKind' });
