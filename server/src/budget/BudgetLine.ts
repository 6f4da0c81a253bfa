import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../directory/User.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';

/**
 * One row of a unit's budget grid: product category x region x quarter. The editable columns
 * (budgetAmount, forecastSales, comment) are a projection of the unit's live grid document; the rest is
 * reference data. `version` goes up with every accepted change, for optimistic concurrency over the API.
 *
 * Amounts are `double precision` on purpose: the grid document holds JavaScript numbers, and the projection
 * must give back exactly what the grid shows.
 *
 * Not a GraphQL type itself: the API's BudgetLine is BudgetLineType (why: see there).
 */
@Entity({ tableName: 'budget_line' })
// A unit's lines in the grid's order, the id last: the OData feed's default order reads pages as index ranges.
@Index({ properties: ['plan', 'businessUnit', 'position', 'id'] })
// One line per unit, category, region and quarter in a plan (addBudgetLines: a line that exists is refused).
@Unique({ name: 'budget_line_plan_unit_category_region_quarter_unique', properties: ['plan', 'businessUnit', 'productCategory', 'region', 'quarter'] })
export class BudgetLine {
  [OptionalProps]?: 'updatedAt' | 'version' | 'comment' | 'position' | 'budgetAmount' | 'forecastSales' | 'priorYearActual' | 'updatedBy';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

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

  /** Order of the line in its unit's grid (category, then region, then quarter), from 0. */
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
}
