/**
 * Partner organisations over GraphQL: the list a person may pick from (`organizations`), one organisation
 * (`organization`, null when it is missing or hidden, alike), what is inside one (its studio companies, its
 * groups in other tools, its people: policies/organization.ts says who reads them), and renaming and deleting
 * one (admins; each writes its activity entry in the same transaction as the change).
 *
 * Out of scope: making organisations and their companies and groups (the new_partner workflow does) and
 * adding people to one (new_partner_user).
 */
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { recordActivity } from '../activity/activityLog.js';
import { badUserInput, conflict } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { authorize, readableOrNull } from '../policies/authorize.js';
import { readableOrganizations } from '../policies/organization.js';
import type { Viewer } from '../policies/viewer.js';
import { Organization } from './Organization.js';
import { organizationNameTaken } from './organizationNames.js';
import { StudioCompany } from './StudioCompany.js';
import { SystemGroup } from './SystemGroup.js';
import { User } from './User.js';

/** Longest organisation name accepted. */
const MAX_NAME_LENGTH = 200;

/**
 * Executions that are not over: an organisation they concern cannot be deleted under them. The statuses are
 * workflow/statuses.ts's; directory/ sits below workflow/ (it may not import it), so this reads the table.
 */
const UNFINISHED_EXECUTIONS_SQL = `SELECT count(*)::int AS n FROM workflow_execution
  WHERE organization_id = ? AND status NOT IN ('COMPLETED', 'CANCELLED')`;

@Resolver(() => Organization)
export class OrganizationResolver {
  /**
   * The organisations a person may pick, for instance in the new_partner_user workflow: an organisation
   * created by new_partner has nobody in it yet, so it cannot be found through `users`.
   */
  @Query(() => [Organization], { description: 'Partner organisations the caller may see, by name: all for admins, else their own.' })
  async organizations(@Ctx() ctx: GraphQLContext): Promise<Organization[]> {
    const scope = readableOrganizations(requireViewer(ctx));
    if (scope.kind === 'none') return [];
    return ctx.em.find(Organization, scope.kind === 'all' ? {} : { id: scope.where.id }, { orderBy: { name: 'asc' } });
  }

  @Query(() => Organization, { nullable: true, description: 'Null when it does not exist or the caller may not see it.' })
  async organization(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Organization | null> {
    const viewer = requireViewer(ctx);
    const organization = isUuid(id) ? await ctx.em.findOne(Organization, { id }) : null;
    return readableOrNull(viewer, 'Organization', organization, (o) => ({ id: o.id }));
  }

  @Mutation(() => Organization, { description: 'Renames an organisation (admins). An empty name, or one another organisation has: BAD_USER_INPUT.' })
  async renameOrganization(@Arg('id', () => ID) id: string, @Arg('name', () => String) name: string, @Ctx() ctx: GraphQLContext): Promise<Organization> {
    const viewer = requireViewer(ctx);
    await managedOrganization(ctx.em, viewer, id, 'Only admins rename organisations');
    const wanted = name.trim();
    if (wanted === '') throw badUserInput('The name may not be empty', 'name');
    if (wanted.length > MAX_NAME_LENGTH) throw badUserInput(`The name may have at most ${MAX_NAME_LENGTH} characters`, 'name');
    const taken = () => badUserInput(`An organisation named "${wanted}" already exists`, 'name');
    try {
      return await ctx.em.fork().transactional(async (tx) => {
        const organization = await lockedOrganization(tx, viewer, id);
        if (organization.name === wanted) return organization;
        // Another organisation's name, or one a new_partner run has claimed (directory/organizationNames.ts).
        const problem = await organizationNameTaken(tx, wanted, { organizationId: id });
        if (problem) throw badUserInput(problem, 'name');
        const previousName = organization.name;
        organization.name = wanted;
        recordActivity(tx, viewer, 'ORGANIZATION_RENAMED', wanted, { organizationId: id, previousName, name: wanted });
        return organization;
      });
    } catch (err) {
      // Two renames to one name at once: the unique index decides, and the loser hears what the check says.
      if (err instanceof UniqueConstraintViolationException) throw taken();
      throw err;
    }
  }

  @Mutation(() => Boolean, {
    description: 'Deletes an organisation with its studio companies and groups (admins). CONFLICT while it has people or unfinished executions.',
  })
  async deleteOrganization(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    await managedOrganization(ctx.em, viewer, id, 'Only admins delete organisations');
    return ctx.em.fork().transactional(async (tx) => {
      // The row lock holds off anyone adding a person or an execution to it (their foreign key waits for it).
      const organization = await lockedOrganization(tx, viewer, id);
      // Deleted people do not count: they are listed nowhere (not in `users`), and their rows let go of it
      // (ON DELETE SET NULL), keeping their email for the entries that name them.
      const people = await tx.count(User, { organization: id, deletedAt: null });
      if (people > 0) throw conflict(`${organization.name} still has ${people} ${people === 1 ? 'person' : 'people'}: remove them first`);
      const [{ n: running }] = await tx.getConnection().execute<{ n: number }[]>(UNFINISHED_EXECUTIONS_SQL, [id], 'all', tx.getTransactionContext());
      if (running > 0) throw conflict(`${organization.name} has ${running} unfinished workflow ${running === 1 ? 'execution' : 'executions'}: let them finish or cancel them first`);
      // Its studio companies and system groups go with it (ON DELETE CASCADE); finished executions keep their history.
      recordActivity(tx, viewer, 'ORGANIZATION_DELETED', organization.name, { organizationId: id, name: organization.name });
      tx.remove(organization);
      return true;
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // What is inside an organisation: admins and its own partner admin (FORBIDDEN to its other people).

  @FieldResolver(() => [StudioCompany], { description: "The organisation's own Studio companies (not its people's personal ones), by name." })
  async studioCompanies(@Root() organization: Organization, @Ctx() ctx: GraphQLContext): Promise<StudioCompany[]> {
    authorize(requireViewer(ctx), 'readDetails', 'Organization', { id: organization.id });
    return ctx.em.find(StudioCompany, { organization: organization.id, owner: null }, { orderBy: { name: 'asc', environment: 'asc' } });
  }

  @FieldResolver(() => [SystemGroup], { description: "The organisation's groups in other tools (Metabase, Teams, Slack, LMS), in that order." })
  async systemGroups(@Root() organization: Organization, @Ctx() ctx: GraphQLContext): Promise<SystemGroup[]> {
    authorize(requireViewer(ctx), 'readDetails', 'Organization', { id: organization.id });
    return ctx.em.find(SystemGroup, { organization: organization.id }, { orderBy: { tool: 'asc' } });
  }

  @FieldResolver(() => [User], { description: 'The people of the organisation, by email (deleted people are listed nowhere).' })
  async users(@Root() organization: Organization, @Ctx() ctx: GraphQLContext): Promise<User[]> {
    authorize(requireViewer(ctx), 'readDetails', 'Organization', { id: organization.id });
    // A deleted person's row stays for the entries that name them (PeopleAdminResolver.deleteUser), still
    // pointing at the organisation; like every list, this one leaves it out.
    return ctx.em.find(User, { organization: organization.id, deletedAt: null }, { populate: ['businessUnits', 'organization'], orderBy: { email: 'asc' } });
  }
}

/**
 * Checks, before any lock is taken, that the viewer may manage the organisation `id` names: missing and
 * hidden alike NOT_FOUND, readable but not theirs to manage FORBIDDEN.
 */
async function managedOrganization(em: EntityManager, viewer: Viewer, id: string, refusal: string): Promise<void> {
  const organization = isUuid(id) ? await em.findOne(Organization, { id }) : null;
  authorize(viewer, 'manage', 'Organization', organization, () => refusal);
}

/** The organisation, locked for this transaction, checked again (it may have gone meanwhile). */
async function lockedOrganization(tx: EntityManager, viewer: Viewer, id: string): Promise<Organization> {
  const organization = await tx.findOne(Organization, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  authorize(viewer, 'manage', 'Organization', organization);
  return organization;
}
