import { Ctx, Query, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { readableOrganizations } from '../policies/organization.js';
import { Organization } from './Organization.js';

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
}
