import { Collection, Entity, Enum, ManyToMany, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { BusinessUnit } from './BusinessUnit.js';
import { Organization } from './Organization.js';
import { RoleEnum, ROLES, type Role } from './role.js';

/**
 * A person who signs in. `businessUnits` are the units whose budget they belong to (read or write depends on
 * the role); `organization` is set for partner users. Entra ID users carry their directory object id.
 */
@ObjectType()
@Entity({ tableName: 'app_user' })
export class User {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'passwordHash' | 'entraObjectId' | 'organization';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Always stored lower-cased, so sign-in and uniqueness ignore case. */
  @Field(() => String)
  @Property({ type: 'text', unique: true })
  email!: string;

  @Field(() => String)
  @Property({ type: 'text' })
  displayName!: string;

  @Field(() => RoleEnum, {
    description: "What the person may do. Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  @Enum({ items: () => [...ROLES], nativeEnumName: 'user_role' })
  role!: Role;

  /** argon2id hash; null for people who only sign in through Entra ID. */
  @Property({ type: 'text', nullable: true, hidden: true })
  passwordHash: string | null = null;

  @Property({ type: 'text', nullable: true, unique: true })
  entraObjectId: string | null = null;

  @ManyToOne({ entity: () => Organization, nullable: true, deleteRule: 'set null' })
  organization: Organization | null = null;

  @ManyToMany({ entity: () => BusinessUnit, pivotTable: 'user_business_unit', owner: true })
  businessUnits = new Collection<BusinessUnit>(this);

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
