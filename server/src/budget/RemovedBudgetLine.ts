import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../directory/User.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';

/**
 * What a removed budget line was (removeBudgetLines, planLines.ts): the row as it stood when it was removed,
 * under the same id, with who removed it and when. Removed lines leave `budget_line` altogether, so that no
 * read path has to filter them out (a soft-delete column would have to be remembered by every query, the
 * exports', OData's and the submissions' included); their audit entries keep naming the line's id, and
 * `auditLog` answers their `line` from here (RelationResolvers.ts). Written by SQL only (planLines.ts); the
 * entity gives the table its place in the model (migrations, schema diffs).
 */
@Entity({ tableName: 'removed_budget_line' })
@Index({ properties: ['plan', 'businessUnit'] })
export class RemovedBudgetLine {
  [OptionalProps]?: 'updatedAt' | 'version' | 'comment' | 'position' | 'budgetAmount' | 'forecastSales' | 'priorYearActual' | 'updatedBy' | 'removedAt' | 'removedBy';

  /** The id the line had (and its audit entries name). */
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne({ entity: () => BudgetPlan, deleteRule: 'cascade' })
  plan!: BudgetPlan;

  @ManyToOne({ entity: () => BusinessUnit })
  businessUnit!: BusinessUnit;

  @Property({ type: 'text' })
  productCategory!: string;

  @Property({ type: 'text' })
  region!: string;

  @Property({ type: 'text' })
  quarter!: string;

  @Property({ type: 'integer', default: 0 })
  position: number = 0;

  @Property({ type: 'double', nullable: true })
  priorYearActual: number | null = null;

  @Property({ type: 'double', nullable: true })
  budgetAmount: number | null = null;

  @Property({ type: 'double', nullable: true })
  forecastSales: number | null = null;

  @Property({ type: 'text', default: '' })
  comment: string = '';

  @Property({ type: 'integer', default: 1 })
  version: number = 1;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  updatedBy: User | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  removedAt: Date = new Date();

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  removedBy: User | null = null;
}
