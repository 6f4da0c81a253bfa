/**
 * Power BI after an approval, app-only (the Entra app is a member of the workspace, and the tenant lets service
 * principals use the Power BI APIs). Two independent parts, each on when configured:
 *
 * - Refresh of an import semantic model (POWERBI_REFRESH_GROUP_ID, POWERBI_REFRESH_DATASET_ID): REST "Refresh
 *   Dataset In Group". The model reads Plansync's OData feed (integrations/powerbi/Plansync.pq), so the refresh
 *   loads the approved figures. This is how Power BI works from 2026 on.
 * - Push dataset (POWERBI_GROUP_ID, POWERBI_DATASET_ID): kept ONLY for deployments that still have one.
 *   Microsoft no longer lets anyone create push datasets and retires the existing ones (31 Oct 2027); do not
 *   set it up anew.
 *
 * Push: append only, never replace: a push dataset can only delete ALL rows of a table, which would drop every
 * other unit's budget. So the table holds one set of rows per push, and each row carries `publishedAt`, the
 * same ISO timestamp for every row of one push. Reports take, per planId and businessUnit, the rows with the
 * latest publishedAt. That also makes a retry safe: a push that failed half way leaves rows with an older
 * publishedAt, which the retry's complete set supersedes.
 *
 * The table's columns: planId, fiscalYear (Int64), businessUnit, productCategory, region, quarter,
 * priorYearActual, budgetAmount, forecastSales (Double, may be null), comment, publishedAt (DateTime).
 */
import type { Config, PowerBiConfig, PowerBiRefreshConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { callMicrosoftApi } from './microsoftApi.js';
import { MicrosoftAppTokens, POWER_BI_SCOPE, type AccessTokenSource } from './microsoftToken.js';
import type { BudgetRow, PowerBiAdapter } from './types.js';

/** Power BI takes at most 10,000 rows per POST .../rows. */
export const MAX_ROWS_PER_REQUEST = 10_000;

/**
 * The real adapter when a push dataset or a semantic model to refresh is configured (undefined: the simulated
 * twin). A part that is not configured is absent, not simulated: a deployment on real Power BI gets no
 * pretend push.
 */
export function powerBiAdapter(config: Pick<Config, 'powerBi' | 'powerBiRefresh' | 'entra'>, health?: ApiCallRecorder): PowerBiAdapter | undefined {
  if ((!config.powerBi && !config.powerBiRefresh) || !config.entra) return undefined;
  const tokens = new MicrosoftAppTokens(config.entra);
  const push = config.powerBi ? new PushDatasetAdapter(config.powerBi, tokens, health) : undefined;
  const refresh = config.powerBiRefresh ? new RefreshDatasetAdapter(config.powerBiRefresh, tokens, health) : undefined;
  return {
    ...(push ? { pushBudgetRows: (rows: BudgetRow[]) => push.pushBudgetRows(rows) } : {}),
    ...(refresh ? { refreshDataset: () => refresh.refreshDataset() } : {}),
  };
}

export class PushDatasetAdapter implements PowerBiAdapter {
  constructor(
    private readonly config: PowerBiConfig,
    private readonly tokens: AccessTokenSource,
    private readonly health?: ApiCallRecorder,
  ) {}

  private get rowsUrl() {
    const { apiUrl, groupId, datasetId, table } = this.config;
    return `${apiUrl}/groups/${encodeURIComponent(groupId)}/datasets/${encodeURIComponent(datasetId)}/tables/${encodeURIComponent(table)}/rows`;
  }

  async pushBudgetRows(rows: BudgetRow[]): Promise<{ rowsPushed: number }> {
    const publishedAt = new Date().toISOString();
    const stamped = rows.map((row) => ({ ...row, publishedAt }));
    for (let start = 0; start < stamped.length; start += MAX_ROWS_PER_REQUEST) {
      await callMicrosoftApi({
        service: 'Power BI',
        tokens: this.tokens,
        scope: POWER_BI_SCOPE,
        health: this.health,
        method: 'POST',
        url: this.rowsUrl,
        body: { rows: stamped.slice(start, start + MAX_ROWS_PER_REQUEST) },
      });
    }
    return { rowsPushed: rows.length };
  }
}

export class RefreshDatasetAdapter implements PowerBiAdapter {
  constructor(
    private readonly config: PowerBiRefreshConfig,
    private readonly tokens: AccessTokenSource,
    private readonly health?: ApiCallRecorder,
  ) {}

  /**
   * POST .../refreshes answers 202 Accepted and refreshes in the background: the step records that Power BI
   * took the request, not that the refresh finished (the model's refresh history in Power BI says that).
   * 429 (Power BI limits refreshes per day on shared capacity) and 5xx fail the step as retryable, like every
   * Microsoft call (microsoftApi.ts).
   */
  async refreshDataset(): Promise<{ datasetRefresh: 'requested' }> {
    const { apiUrl, groupId, datasetId } = this.config;
    await callMicrosoftApi({
      service: 'Power BI',
      tokens: this.tokens,
      scope: POWER_BI_SCOPE,
      health: this.health,
      method: 'POST',
      url: `${apiUrl}/groups/${encodeURIComponent(groupId)}/datasets/${encodeURIComponent(datasetId)}/refreshes`,
      // Failures reach whoever runs Plansync through the step; mail from Power BI is not wanted for each approval.
      body: { notifyOption: 'NoNotification' },
    });
    return { datasetRefresh: 'requested' };
  }
}
