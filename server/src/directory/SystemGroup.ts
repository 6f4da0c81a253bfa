import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { Organization } from './Organization.js';

export const GROUP_TOOLS = ['metabase', 'teams', 'slack', 'lms'] as const;
export type GroupTool = (typeof GROUP_TOOLS)[number];

/** An organisation's group in one tool (its Metabase group, Teams channel, Slack group, LMS tenant). */
@ObjectType()
@Entity({ tableName: 'system_group' })
@Unique({ properties: ['organization', 'tool'] })
export class SystemGroup {
  [OptionalProps]?: 'createdAt' | 'externalId';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Organization, deleteRule: 'cascade' })
  organization!: Organization;

  @Field(() => String)
  @Enum({ items: () => [...GROUP_TOOLS], nativeEnumName: 'group_tool' })
  tool!: GroupTool;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
