import { Entity, Enum, Property, Unique } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { OrganizationRecord } from './OrganizationRecord.js';

export const GROUP_TOOLS = ['metabase', 'teams', 'slack', 'lms'] as const;
export type GroupTool = (typeof GROUP_TOOLS)[number];

/** An organisation's group in one tool (its Metabase group, Teams channel, Slack group, LMS tenant). */
@ObjectType()
@Entity({ tableName: 'system_group' })
@Unique({ properties: ['organization', 'tool'] })
export class SystemGroup extends OrganizationRecord {
  @Field(() => String)
  @Enum({ items: () => [...GROUP_TOOLS], nativeEnumName: 'group_tool' })
  tool!: GroupTool;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;
}
