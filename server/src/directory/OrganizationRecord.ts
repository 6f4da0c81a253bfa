import { ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Organization } from './Organization.js';

/**
 * What onboarding makes for an organisation in another system (a Studio company, a tool's group), as the
 * columns every such table shares: its own id, the organisation it belongs to (and is deleted with), the id
 * the other system gave it once known, and when it was made. Not an entity of its own: MikroORM copies these
 * properties into each subclass's table, so the tables are what they were before this class existed.
 *
 * Its fields are the GraphQL fields of each subclass's type (type-graphql copies a parent type's fields);
 * no query returns this type itself, so the schema has none of its own.
 *
 * `Optional` names a subclass's own optional properties (MikroORM's `OptionalProps` cannot be widened in a
 * subclass, so the base takes them as a type parameter).
 */
@ObjectType()
export abstract class OrganizationRecord<Optional extends string = never> {
  [OptionalProps]?: 'createdAt' | 'externalId' | 'closedAt' | Optional;

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Organization, deleteRule: 'cascade' })
  organization!: Organization;

  /** The id the other system gave it; null until that system has answered. */
  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** When offboarding archived or closed it in its system (a person's own company, an organisation's groups). */
  @Field(() => Date, { nullable: true, description: 'When offboarding archived or closed it in its system; null while it is in use.' })
  @Property({ type: 'datetime', nullable: true })
  closedAt: Date | null = null;
}
