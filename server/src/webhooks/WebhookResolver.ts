/**
 * Webhooks over GraphQL (CONTRACT.md v1.1, "Tools and scripts"): admins create, list and delete them and read
 * each one's delivery log; every other role is FORBIDDEN (policies/webhook.ts, asked by webhooks.ts).
 */
import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';

@ObjectType({ description: 'An endpoint that receives the events it takes, signed per the Standard Webhooks specification.' })
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [String])
  events!: string[];

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Boolean)
  active!: boolean;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class NewWebhook {
  @Field(() => String, { description: 'The signing secret ("whsec_" + base64). Shown this once: it cannot be read again.' })
  secret!: string;

  @Field(() => Webhook)
  webhook!: Webhook;
}

@ObjectType({ description: 'One event sent to one webhook: PENDING (to be attempted, or retried), SUCCEEDED or FAILED (no attempts left).' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Also its `webhook-id` header, the same on every attempt.' })
  id!: string;

  @Field(() => String)
  event!: string;

  @Field(() => String)
  status!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int, { nullable: true, description: "The last attempt's HTTP status; null when there was no answer." })
  responseStatus!: number | null;

  @Field(() => Date, { description: 'When it was last attempted (or enqueued, before the first attempt).' })
  at!: Date;
}

@Resolver()
export class WebhookResolver {
  @Mutation(() => NewWebhook, {
    description:
      'Creates a webhook (admins). Events: submission.status_changed, workflow.step_failed, workflow.step_awaiting_input, ' +
      'workflow.execution_completed, workflow.execution_failed, plan.created, budget.values_imported; others BAD_USER_INPUT. ' +
      'Plain http and loopback or private addresses: BAD_USER_INPUT unless WEBHOOK_ALLOW_INSECURE=true.',
  })
  createWebhook(
    @Arg('url', () => String) url: string,
    @Arg('events', () => [String]) events: string[],
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NewWebhook> {
    return ctx.services.webhooks.create(requireViewer(ctx), url, events, description ?? null);
  }

  @Query(() => [Webhook], { description: 'Every webhook, oldest first (admins).' })
  webhooks(@Ctx() ctx: GraphQLContext): Promise<Webhook[]> {
    return ctx.services.webhooks.list(requireViewer(ctx));
  }

  @Mutation(() => Boolean, { description: 'Deletes a webhook and its deliveries; pending ones are not attempted again (admins).' })
  deleteWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return ctx.services.webhooks.delete(requireViewer(ctx), id);
  }

  @Query(() => [WebhookDelivery], { description: "A webhook's deliveries, newest first; `first` up to 500, default 50 (admins)." })
  webhookDeliveries(
    @Arg('webhookId', () => ID) webhookId: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookDelivery[]> {
    return ctx.services.webhooks.deliveries(requireViewer(ctx), webhookId, first ?? null);
  }
}
