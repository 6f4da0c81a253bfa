/**
 * The GraphQL `BudgetLine` type, kept apart from the BudgetLine entity. Resolvers return either entities
 * (mutations, audit entries' lines) or plain snapshots (budgetLines, events); graphql-js reads the fields of
 * either. Were the entity the GraphQL class, type-graphql would turn every plain snapshot into a new entity
 * (`new BudgetLine()` and a MikroORM setter per field) before each of its field resolvers: a list of lines
 * paid that several times per line.
 *
 * The field resolvers of its relations are in RelationResolvers.ts; they take their parent as
 * `BudgetLineParent`, a type the decorators cannot reflect, so that type-graphql hands it over untouched.
 */
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { User } from '../directory/User.js';
import type { BudgetLine } from './BudgetLine.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';

/** What a BudgetLine field resolver gets as its parent. */
export type BudgetLineParent = BudgetLine | BudgetLineSnapshot;

// Simple resolvers: graphql-js reads the plain fields itself (no middleware applies to them), instead of a
// type-graphql wrapper per field and line.
@ObjectType('BudgetLine', { simpleResolvers: true })
export class BudgetLineType {
  @Field(() => ID)
  id!: string;

  @Field(() => BusinessUnit)
  businessUnit!: BusinessUnit;

  @Field(() => String)
  productCategory!: string;

  @Field(() => String)
  region!: string;

  @Field(() => String)
  quarter!: string;

  /** Order of the line in its unit's grid (category, then region, then quarter), from 0. */
  @Field(() => Int)
  position!: number;

  @Field(() => Float, { nullable: true })
  priorYearActual!: number | null;

  @Field(() => Float, { nullable: true })
  budgetAmount!: number | null;

  @Field(() => Float, { nullable: true })
  forecastSales!: number | null;

  @Field(() => String)
  comment!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => User, { nullable: true })
  updatedBy!: User | null;

  @Field(() => Date, { nullable: true, description: 'When the line was removed from its plan (an audit entry of a removed line); null for a line in the plan.' })
  removedAt?: Date | null;
}
