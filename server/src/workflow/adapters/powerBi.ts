/**
 * Power BI push dataset: an approved unit budget is appended to the dataset's table (POWERBI_TABLE) through
 * the REST API, app-only (the Entra app is a member of the workspace, and the tenant lets service
 * principals use the Power BI APIs).
 *
 * Append only, never replace: a push dataset can only delete ALL rows of a table, which would drop every
 * other unit's budget. So the table holds one set of rows per push, and each row carries `publishedAt`, the
 * same ISO timestamp for every row of one push. Reports take, per planId and businessUnit, the rows with the
 * latest publishedAt. That also makes a retry safe: a push that failed half way leaves rows with an older
 * publishedAt, which the retry's complete set supersedes.
 *
 * The table's columns: planId, fiscalYear (Int64), businessUnit, productCategory, region, quarter,
 * priorYearActual, budgetAmount, forecastSales (Double, may be null), comment, publishedAt (DateTime).
 */
import type { Config, PowerBiConfig } from '../../config.js';
import { callMicrosoftApi } from './microsoftApi.js';
import { MicrosoftAppTokens, POWER_BI_SCOPE, type AccessTokenSource } from './microsoftToken.js';
import type { BudgetRow, PowerBiAdapter } from './types.js';

/** Power BI takes at most 10,000 rows per POST .../rows. */
export const MAX_ROWS_PER_REQUEST = 10_000;

/** The real adapter when POWERBI_GROUP_ID and POWERBI_DATASET_ID are set. */
export function powerBiAdapter(config: Pick<Config, 'powerBi' | 'entra'>): PowerBiAdapter | undefined {
  if (!config.powerBi || !config.entra) return undefined;
  return new PushDatasetAdapter(config.powerBi, new MicrosoftAppTokens(config.entra));
}

export class PushDatasetAdapter implements PowerBiAdapter {
  constructor(
    private readonly config: PowerBiConfig,
    private readonly tokens: AccessTokenSource,
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
        method: 'POST',
        url: this.rowsUrl,
        body: { rows: stamped.slice(start, start + MAX_ROWS_PER_REQUEST) },
      });
    }
    return { rowsPushed: rows.length };
  }
}
