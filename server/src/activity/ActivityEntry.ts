import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';

/**
 * One entry of the activity log: who did what to whom, written in the same transaction as the change itself
 * (activityLog.ts). The actor is kept by id and email, not as a reference: an entry outlives the person (a
 * deleted person's entries keep their email), and the log sits below every capability that writes to it.
 */
@Entity({ tableName: 'activity_entry' })
@Index({ properties: ['at'] })
@Index({ properties: ['action', 'id'] })
@Index({ properties: ['actorEmail', 'id'] })
export class ActivityEntry {
  [OptionalProps]?: 'at' | 'details' | 'actorId' | 'actorEmail';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  at: Date = new Date();

  /** One of ACTIVITY_ACTIONS (activityLog.ts). */
  @Property({ type: 'text' })
  action!: string;

  /** Who did it; null for the system (a first admin created at start, say). */
  @Property({ type: 'uuid', nullable: true })
  actorId: string | null = null;

  @Property({ type: 'text', nullable: true })
  actorEmail: string | null = null;

  /** What was acted on, as people name it: an email, a plan's name, a token's name. */
  @Property({ type: 'text' })
  subject!: string;

  /** The change's particulars (a role before and after, a reason, a count of lines). */
  @Property({ type: 'json', nullable: true })
  details: Record<string, unknown> | null = null;
}

/** Who did it, as the log shows them. */
@ObjectType('ActivityActor')
export class ActivityActorType {
  @Field(() => ID, { nullable: true })
  id!: string | null;

  @Field(() => String)
  email!: string;
}

@ObjectType('ActivityEntry')
export class ActivityEntryType {
  @Field(() => ID)
  id!: string;

  @Field(() => Date)
  at!: Date;

  @Field(() => String)
  action!: string;

  @Field(() => ActivityActorType, { nullable: true, description: 'Null for what the system did by itself.' })
  actor!: ActivityActorType | null;

  @Field(() => String)
  subject!: string;

  @Field(() => GraphQLJSON, { nullable: true })
  details!: Record<string, unknown> | null;
}
