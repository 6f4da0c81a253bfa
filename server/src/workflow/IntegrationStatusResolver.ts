/**
 * `integrations`: the admins' view of every outside service (workflow/integrationStatus.ts), more than the
 * public /readyz says: the last error of each, and the ones /readyz leaves out (Entra, mail, webhooks).
 */
import { Ctx, Field, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadIntegrationStatus } from '../policies/integrations.js';
import { INTEGRATION_STATES, integrationStatus, type IntegrationState } from './integrationStatus.js';

export const IntegrationStateEnum = Object.fromEntries(INTEGRATION_STATES.map((s) => [s, s])) as { [K in IntegrationState]: K };
registerEnumType(IntegrationStateEnum, {
  name: 'IntegrationState',
  description:
    'NOT_CONFIGURED: off (its settings are absent). SIMULATED: a stand-in answers instead (Microsoft Graph, Power BI, Metabase, Slack, Studio, Infrabot, LMS). ' +
    'CONFIGURED: set up, no call yet. OK: the last call succeeded. FAILING: the last call failed (or Redis is unreachable, ' +
    'or webhook deliveries failed in the last 24 hours or wait for a retry).',
});

@ObjectType({ description: 'An outside service Plansync talks to, and how it is doing.' })
export class IntegrationStatus {
  @Field(() => String, { description: 'Stable: microsoftGraph, powerBi, metabase, slack, studio, infrabot, lms, entraSignIn, mail, redis, webhooks.' })
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => IntegrationStateEnum)
  state!: IntegrationState;

  @Field(() => String, { description: 'What uses it.' })
  purpose!: string;

  @Field(() => String, { nullable: true, description: 'Counts, where there are some (webhooks).' })
  detail!: string | null;

  @Field(() => String, { description: 'The settings that turn it on (README, "Configuration").' })
  howToConfigure!: string;

  @Field(() => Date, { nullable: true, description: 'When the last call ended (Microsoft and the provisioning targets: made by this instance; webhooks: any).' })
  lastCallAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The last failure, shortened, without tokens; kept after a later success.' })
  lastError!: string | null;

  @Field(() => Date, { nullable: true })
  lastErrorAt!: Date | null;
}

@Resolver()
export class IntegrationStatusResolver {
  @Query(() => [IntegrationStatus], {
    description:
      'Every integration: configured or not, and how its last call went (admins). Microsoft Graph, Power BI and the ' +
      'provisioning targets (Metabase, Slack, Studio, Infrabot, LMS) count the calls of the instance that answers, as /readyz does.',
  })
  async integrations(@Ctx() ctx: GraphQLContext): Promise<IntegrationStatus[]> {
    const viewer = requireViewer(ctx);
    if (!canReadIntegrationStatus(viewer)) throw forbidden('Only admins read the integrations');
    const { config, integrationHealth, redis, webhooks } = ctx.services;
    return integrationStatus({ config, health: integrationHealth, redisUp: redis?.up, webhooks: await webhooks.health(viewer) });
  }
}
