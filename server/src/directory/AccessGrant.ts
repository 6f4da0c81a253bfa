import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { User } from './User.js';

/** A user's access to one resource of one system (a Studio company, a Metabase group, a Teams channel...). */
@ObjectType()
@Entity({ tableName: 'access_grant' })
@Unique({ properties: ['user', 'system', 'resource'] })
export class AccessGrant {
  [OptionalProps]?: 'grantedAt' | 'name';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: User;

  /** studio, metabase, teams, slack, lms */
  @Field(() => String)
  @Property({ type: 'text' })
  system!: string;

  /** What in that system: a company, group or channel name or id. */
  @Field(() => String)
  @Property({ type: 'text' })
  resource!: string;

  /** The contract's name for `resource`: what in that system the person has access to. */
  @Field(() => String, { description: 'What in that system the person has access to: a company, group or channel.' })
  get name(): string {
    return this.resource;
  }

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  grantedAt: Date = new Date();
}
