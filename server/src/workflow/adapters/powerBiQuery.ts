/**
 * A DAX query against a Power BI semantic model, app-only (REST "Execute Queries In Group", or "Execute Queries"
 * without a workspace): what loadPriorYearActuals reads the prior-year actuals with (workflow/priorYearActuals.ts).
 *
 * Power BI answers a DAX error with 400 (an IntegrationError carrying its detail, microsoftApi.ts), and a
 * query that asks for too much (more than one table, more than 100,000 rows) with 200, cut short, and an
 * `error` in the result: that is a failure too, never a partial load.
 *
 * Unlike a workflow step, an admin waits for this call: a transient failure (no answer, 429, 5xx) is tried
 * again at most ATTEMPTS times with a short pause, then reported.
 */
import type { PowerBiActualsConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { callMicrosoftApi } from './microsoftApi.js';
import { POWER_BI_SCOPE, type AccessTokenSource } from './microsoftToken.js';
import { IntegrationError, isTransient } from './types.js';

export const ATTEMPTS = 3;
const PAUSE_MS = 300;

/** One row of the result table: column name as Power BI gives it (`Table[Column]` or `[Column]`) -> value. */
export type QueryRow = Record<string, unknown>;

interface ExecuteQueriesResponse {
  results?: { tables?: { rows?: unknown; error?: ResultError }[]; error?: ResultError }[];
  error?: ResultError;
}
type ResultError = { code?: unknown; message?: unknown } | string;

export class PowerBiQueries {
  constructor(
    private readonly config: Pick<PowerBiActualsConfig, 'apiUrl' | 'groupId' | 'datasetId'>,
    private readonly tokens: AccessTokenSource,
    private readonly health?: ApiCallRecorder,
    private readonly pauseMs = PAUSE_MS,
  ) {}

  get url(): string {
    const { apiUrl, groupId, datasetId } = this.config;
    const workspace = groupId ? `/groups/${encodeURIComponent(groupId)}` : '';
    return `${apiUrl}${workspace}/datasets/${encodeURIComponent(datasetId)}/executeQueries`;
  }

  /** The rows of the query's one result table. */
  async execute(dax: string): Promise<QueryRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(dax);
      } catch (err) {
        if (!isTransient(err) || attempt >= ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs * attempt));
      }
    }
  }

  private async once(dax: string): Promise<QueryRow[]> {
    const { ok } = await callMicrosoftApi<ExecuteQueriesResponse>({
      service: 'Power BI',
      tokens: this.tokens,
      scope: POWER_BI_SCOPE,
      health: this.health,
      method: 'POST',
      url: this.url,
      // includeNulls: a blank cell comes as null rather than a missing key, so a row's columns are all there.
      body: { queries: [{ query: dax }], serializerSettings: { includeNulls: true } },
    });
    const result = ok?.results?.[0];
    const table = result?.tables?.[0];
    const error = ok?.error ?? result?.error ?? table?.error;
    if (error) throw new IntegrationError(`Power BI could not run the query: ${describe(error)}`);
    if (!table || !Array.isArray(table.rows)) throw new IntegrationError('Power BI answered the query without a result table');
    if (table.rows.some((row) => typeof row !== 'object' || row === null || Array.isArray(row))) {
      throw new IntegrationError('Power BI answered the query with rows that are not objects');
    }
    return table.rows as QueryRow[];
  }
}

function describe(error: ResultError): string {
  if (typeof error === 'string') return error.slice(0, 500);
  const code = typeof error.code === 'string' ? error.code : '';
  const message = typeof error.message === 'string' ? error.message : '';
  return [code, message].filter(Boolean).join(': ').slice(0, 500) || 'an error without a message';
}
