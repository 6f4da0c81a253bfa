import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Organization } from './Organization.js';
import { User } from './User.js';

export const STUDIO_ENVIRONMENTS = ['test', 'prod'] as const;
export type StudioEnvironment = (typeof STUDIO_ENVIRONMENTS)[number];
export const StudioEnvironmentEnum = { test: 'test', prod: 'prod' } as const;
registerEnumType(StudioEnvironmentEnum, { name: 'StudioEnvironment' });

/**
 * A company in Studio: either one of an organisation's companies (made by `new_partner`), or the personal
 * company of an onboarded user (`owner` set, made by `new_partner_user`).
 */
@ObjectType()
@Entity({ tableName: 'studio_company' })
@Unique({ properties: ['organization', 'name', 'environment'] })
export class StudioCompany {
  [OptionalProps]?: 'createdAt' | 'owner' | 'externalId';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Organization, deleteRule: 'cascade' })
  organization!: Organization;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Field(() => StudioEnvironmentEnum)
  @Enum({ items: () => [...STUDIO_ENVIRONMENTS], nativeEnumName: 'studio_environment' })
  environment!: StudioEnvironment;

  /** The user whose personal company this is. */
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'cascade' })
  owner: User | null = null;

  /** The id the integration gave it. */
  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
