import { Entity, Enum, ManyToOne, Property, Unique } from '@mikro-orm/core';
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { OrganizationRecord } from './OrganizationRecord.js';
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
export class StudioCompany extends OrganizationRecord<'owner'> {
  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Field(() => StudioEnvironmentEnum)
  @Enum({ items: () => [...STUDIO_ENVIRONMENTS], nativeEnumName: 'studio_environment' })
  environment!: StudioEnvironment;

  /** The user whose personal company this is. */
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'cascade' })
  owner: User | null = null;
}
