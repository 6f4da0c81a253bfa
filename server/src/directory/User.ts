import { Collection, Entity, Enum, ManyToMany, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { BusinessUnit } from './BusinessUnit.js';
import { Organization } from './Organization.js';
import { RoleEnum, ROLES, type Role } from './role.js';

/** PERSON: someone who signs in; SERVICE: an account the tools use (tokens only, no password). */
export const USER_KINDS = ['PERSON', 'SERVICE'] as const;
export type UserKind = (typeof USER_KINDS)[number];
export const UserKindEnum = Object.fromEntries(USER_KINDS.map((k) => [k, k])) as { [K in UserKind]: K };
registerEnumType(UserKindEnum, { name: 'UserKind' });

/**
 * A person who signs in. `businessUnits` are the units whose budget they belong to (read or write depends on
 * the role); `organization` is set for partner users. Entra ID users carry their directory object id.
 */
@ObjectType()
@Entity({ tableName: 'app_user' })
export class User {
  [OptionalProps]?:
    | 'createdAt'
    | 'updatedAt'
    | 'passwordHash'
    | 'entraObjectId'
    | 'organization'
    | 'active'
    | 'kind'
    | 'lastSignInAt'
    | 'tokensValidAfter'
    | 'keptTokenId'
    | 'totpSecret'
    | 'totpEnabledAt'
    | 'totpLastStep'
    | 'totpPendingSecret'
    | 'totpPendingAt'
    | 'deletedAt'
    | 'awaitingAccess'
    | 'roleFromGroups'
    | 'entraAppId';

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

  /**
   * For a service account: the Microsoft Entra application (client) id whose app-only tokens speak for it
   * (auth/entraAppTokens.ts), lower-case; null when none is linked. One app per account and one account per
   * app. Read by admins only (auth/ServiceAccountEntraAppResolver.ts).
   */
  @Property({ type: 'text', nullable: true, unique: true })
  entraAppId: string | null = null;

  @ManyToOne({ entity: () => Organization, nullable: true, deleteRule: 'set null' })
  organization: Organization | null = null;

  @ManyToMany({ entity: () => BusinessUnit, pivotTable: 'user_business_unit', owner: true })
  businessUnits = new Collection<BusinessUnit>(this);

  /**
   * False once an admin deactivated the person: their sign-in fails like a wrong password and every token of
   * theirs is refused (auth/viewers.ts), until an admin reactivates them.
   */
  @Property({ type: 'boolean', default: true })
  active: boolean = true;

  @Field(() => UserKindEnum)
  @Enum({ items: () => [...USER_KINDS], nativeEnumName: 'user_kind', default: 'PERSON' })
  kind: UserKind = 'PERSON';

  /** When the person last signed in (password or Entra ID); null before the first time. */
  @Property({ type: 'datetime', nullable: true })
  lastSignInAt: Date | null = null;

  /**
   * Tokens issued before this moment are refused (a password change or reset, a deactivation ended them),
   * except `keptTokenId`: checked with every request's viewer lookup (auth/viewers.ts).
   */
  @Property({ type: 'datetime', nullable: true, hidden: true })
  tokensValidAfter: Date | null = null;

  /** The token a password change was made with, which keeps working while the person's others end. */
  @Property({ type: 'text', nullable: true, hidden: true })
  keptTokenId: string | null = null;

  /**
   * Set when an admin deleted the person. The row stays (deactivated, without password, units or grants) so
   * that the audit entries, lines and submissions that name them keep their email; every list and every
   * admin operation leaves it out, as if it were gone.
   */
  @Property({ type: 'datetime', nullable: true, hidden: true })
  deletedAt: Date | null = null;

  /**
   * True for a person their first Microsoft sign-in created without access (their groups mapped to no role:
   * VIEWER, no units), until an admin gives them access (setUserAccess) or their groups bring a role
   * (auth/entraTokens.ts). Admins list them to act on (`usersAwaitingAccess`).
   */
  @Property({ type: 'boolean', default: false })
  awaitingAccess: boolean = false;

  /**
   * Two-factor sign-in (auth/totp.ts). The secrets are stored encrypted (never the plain base32), and only the
   * TOTP service reads them. `totpEnabledAt` is set once an enrolment was confirmed with a code; a pending
   * secret (begun, not confirmed) turns nothing on. `totpLastStep` is the 30-second step of the last code
   * accepted: a code of that step or an earlier one is refused (replay).
   */
  @Property({ type: 'text', nullable: true, hidden: true })
  totpSecret: string | null = null;

  @Property({ type: 'datetime', nullable: true, hidden: true })
  totpEnabledAt: Date | null = null;

  @Property({ type: 'bigint', nullable: true, hidden: true })
  totpLastStep: string | null = null;

  @Property({ type: 'text', nullable: true, hidden: true })
  totpPendingSecret: string | null = null;

  @Property({ type: 'datetime', nullable: true, hidden: true })
  totpPendingAt: Date | null = null;

  /**
   * Whether `role` came from the person's Entra groups (auth/entraTokens.ts), which then take it back when they
   * no longer map to a role; false once an admin set it (setUserAccess), which a sign-in leaves alone.
   */
  @Property({ type: 'boolean', default: false, hidden: true })
  roleFromGroups: boolean = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  /**
   * Ends every token of the person issued until now, except `keptTokenId` (the one a password change was made
   * with), once flushed: the viewer lookup refuses them on every instance (auth/viewers.ts). The caller then
   * publishes TOKENS_REVOKED for the person, so that their open sockets re-check and close.
   */
  endTokens(keptTokenId: string | null = null): void {
    this.tokensValidAfter = new Date();
    this.keptTokenId = keptTokenId;
  }
}
