/**
 * `loadPriorYearActuals` and `priorYearActualsSource` (admins, as plan administration): prior-year actuals from a
 * Power BI semantic model into a plan (priorYearActuals.ts). The source shows what will run, never a secret.
 */
import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { Config, PowerBiActualsConfig } from '../config.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import type { ApiCallRecorder } from './adapters/health.js';
import { MicrosoftAppTokens } from './adapters/microsoftToken.js';
import { PowerBiQueries } from './adapters/powerBiQuery.js';
import { describeSource, loadPriorYearActuals, requireActualsLoader, type ActualsQuery } from './priorYearActuals.js';

@ObjectType({ description: 'The Power BI query prior-year actuals are loaded with (POWERBI_ACTUALS_* settings).' })
export class PriorYearActualsSource {
  @Field(() => Boolean, { description: 'Whether the server has the settings; without them loadPriorYearActuals answers BAD_USER_INPUT.' })
  configured!: boolean;

  @Field(() => String, { nullable: true, description: 'The semantic model (dataset) id.' })
  datasetId!: string | null;

  @Field(() => String, { nullable: true, description: 'Its workspace id, when set.' })
  groupId!: string | null;

  @Field(() => String, { nullable: true, description: 'The DAX query; {fiscalYear} becomes the plan\'s fiscal year minus 1.' })
  query!: string | null;
}

@ObjectType({ description: 'What a load of prior-year actuals did (or, dryRun, would do).' })
export class PriorYearActualsLoad {
  @Field(() => ID)
  planId!: string;

  @Field(() => Int, { description: "The year of the actuals: the plan's fiscal year minus 1." })
  fiscalYear!: number;

  @Field(() => Boolean)
  dryRun!: boolean;

  @Field(() => Int, { description: 'Rows the query returned.' })
  rowsRead!: number;

  @Field(() => Int, { description: 'Lines whose priorYearActual changed (would change, in a dry run).' })
  linesUpdated!: number;

  @Field(() => Int, { description: 'Matched lines that already held the value.' })
  unchanged!: number;

  @Field(() => Int, { description: 'Unit / category / region / quarter keys of the result (duplicates summed) that name no line of the plan.' })
  unmatched!: number;

  @Field(() => [String], { description: 'The first 20 unmatched keys, e.g. "FINANCE / Hardware / EMEA / Q5: no such line in this plan".' })
  unmatchedExamples!: string[];

  @Field(() => [String], { description: 'Units left unchanged because their budget is SUBMITTED or APPROVED.' })
  skippedUnits!: string[];
}

/** One query client per configuration: its token source keeps msal's token cache across loads. */
const clients = new WeakMap<PowerBiActualsConfig, ActualsQuery>();

function sourceOf(config: Config, health: ApiCallRecorder): { config: PowerBiActualsConfig; query: ActualsQuery } | undefined {
  const actuals = config.powerBiActuals;
  if (!actuals || !config.entra) return undefined;
  let query = clients.get(actuals);
  if (!query) clients.set(actuals, (query = new PowerBiQueries(actuals, new MicrosoftAppTokens(config.entra), health)));
  return { config: actuals, query };
}

@Resolver()
export class PriorYearActualsResolver {
  @Query(() => PriorYearActualsSource, { description: 'Where prior-year actuals would be loaded from (admins).' })
  priorYearActualsSource(@Ctx() ctx: GraphQLContext): PriorYearActualsSource {
    requireActualsLoader(requireViewer(ctx));
    return describeSource(ctx.services.config.entra ? ctx.services.config.powerBiActuals : undefined);
  }

  @Mutation(() => PriorYearActualsLoad, {
    description:
      "Loads prior-year actuals from the configured Power BI semantic model into the plan's priorYearActual (admins): " +
      'one transaction, audited (source API), live in open grids; submitted and approved units are skipped; with dryRun ' +
      'nothing is written. A closed plan: FORBIDDEN. Not configured, a Power BI failure or an invalid value: BAD_USER_INPUT, nothing written.',
  })
  loadPriorYearActuals(
    @Arg('planId', () => ID) planId: string,
    @Arg('dryRun', () => Boolean, { nullable: true, defaultValue: false }) dryRun: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PriorYearActualsLoad> {
    const { config, integrationHealth, budgetLines } = ctx.services;
    return loadPriorYearActuals(ctx.em, budgetLines, sourceOf(config, integrationHealth), requireViewer(ctx), planId, dryRun ?? false);
  }
}
