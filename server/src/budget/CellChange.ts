import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../directory/User.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetLineType } from './BudgetLineType.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { BudgetPlan } from './BudgetPlan.js';

export const CHANGE_SOURCES = ['GRID', 'API', 'IMPORT', 'RESTORE'] as const;
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

export function isChangeSource(text: string): text is ChangeSource {
  return (CHANGE_SOURCES as readonly string[]).includes(text);
}
export const ChangeSourceEnum = Object.fromEntries(CHANGE_SOURCES.map((s) => [s, s])) as { [K in ChangeSource]: K };
registerEnumType(ChangeSourceEnum, {
  name: 'ChangeSource',
  description: 'GRID: an edit over the collaborative grid websocket. API: a GraphQL mutation. IMPORT: a spreadsheet imported (POST /import/budget-lines). ' +
    'RESTORE: a cell set back to an earlier change\'s old value (restoreCell).',
});

/**
 * One audit entry: one column of one line changed by one person. Append-only. The business unit and the plan
 * are copied from the line so that the audit log can be scoped to the caller's units, and narrowed to a plan,
 * in the query itself (a removed line's entries have no line to join).
 */
@ObjectType()
@Entity({ tableName: 'cell_change' })
@Index({ properties: ['line', 'id'] })
@Index({ properties: ['businessUnit', 'id'] })
// The audit log's plan filter (migration AuditPlan).
@Index({ properties: ['plan', 'id'] })
// The audit log's person and time filters (migration AuditLogFilters).
@Index({ properties: ['user', 'id'] })
@Index({ properties: ['at'] })
export class CellChange {
  [OptionalProps]?: 'at' | 'oldValue' | 'newValue' | 'user';

  @Field(() => ID)
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /**
   * The line changed. No foreign key: a removed line's audit history stays (removeBudgetLines), and its `line`
   * is then answered from removed_budget_line (RelationResolvers.ts). Populate it with separate queries
   * (strategy 'select-in'): a join drops the entries whose line is gone.
   */
  @Field(() => BudgetLineType)
  @ManyToOne({ entity: () => BudgetLine, createForeignKeyConstraint: false })
  line!: BudgetLine;

  @ManyToOne({ entity: () => BusinessUnit })
  businessUnit!: BusinessUnit;

  @ManyToOne({ entity: () => BudgetPlan })
  plan!: BudgetPlan;

  @Field(() => String)
  @Property({ type: 'text', fieldName: 'column_name' })
  column!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  oldValue: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  newValue: string | null = null;

  @Field(() => User, { nullable: true })
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  user: User | null = null;

  @Field(() => ChangeSourceEnum)
  @Enum({ items: () => [...CHANGE_SOURCES], nativeEnumName: 'change_source' })
  source!: ChangeSource;

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  at: Date = new Date();
}
