/**
 * Spreadsheets in and out over HTTP (CONTRACT.md v1.1, "Spreadsheets in and out"), with the credentials of
 * /odata: `Authorization: Bearer <token>` (sign-in, `pst_` access or Entra token), or HTTP Basic with any user
 * name and the token as the password (auth/credentials.ts); without valid ones 401 with a Basic and a Bearer
 * challenge. Refusals are `{ "error": { "code", "message" } }` with the contract's codes.
 *
 * - `GET /export/budget-lines.csv|xlsx?planId=…[&businessUnitCode=…]`: the lines the caller may read (of one
 *   unit, or of every unit they may read), streamed as they are read (lineReader.ts, sheetWriters.ts). A unit
 *   they may not read: 403 (404 to who reads every unit), as `budgetLines` answers.
 * - `POST /import/budget-lines?planId=…[&dryRun=true]`: a CSV or xlsx body up to 10 MB (413 beyond, 415 for
 *   another content type, 400 for a file that cannot be read), judged and applied by importLines.ts; a READ
 *   access token may not import (403), nor may anyone into a closed plan (403).
 *
 * The request limit (http/rateLimits.ts) is mounted in front of both by http/server.ts, and leaves the viewer
 * it looked up in `res.locals.viewer`.
 */
import express, { type Request, type Response } from 'express';
import type { GraphQLError } from 'graphql';
import { requestToken } from '../auth/credentials.js';
import type { PlanStatus } from '../budget/BudgetPlan.js';
import { MAX_UNIT_CODE_LENGTH, planNotFound, requirePlanReader, requireReadableUnit } from '../budget/unitLookup.js';
import { PLAN_CLOSED } from '../budget/budgetLineWriter.js';
import type { Config } from '../config.js';
import { withSqlClient } from '../db/sql.js';
import { ErrorCode, forbidden } from '../errors.js';
import type { Logger } from '../log.js';
import { readableUnits, unitIdsOf } from '../policies/businessUnit.js';
import { credentialsMayWrite, type Viewer } from '../policies/viewer.js';
import type { Services } from '../services.js';
import { MalformedFile } from './csv.js';
import { importSheet, type ImportPlan } from './importLines.js';
import { exportedLines } from './lineReader.js';
import { BodyTooLarge, charsetOf, CSV_TYPE, decodeCsv, formatOf, readBody, XLSX_TYPE, type SheetFormat } from './requestBody.js';
import { readCsvSheet, readXlsxSheet } from './sheetReaders.js';
import { SHEET_CONTENT_TYPES, sheetWriter } from './sheetWriters.js';

const STATUS_OF_CODE: Record<string, number> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.BAD_USER_INPUT]: 400,
};

function sendError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

/** A refusal of the policies (a GraphQLError with a contract code) as an HTTP answer; anything else is rethrown. */
function sendRefusal(res: Response, err: unknown) {
  const code = (err as GraphQLError)?.extensions?.code;
  if (typeof code !== 'string' || !(code in STATUS_OF_CODE)) throw err;
  sendError(res, STATUS_OF_CODE[code], code, (err as Error).message);
}

function challenges(config: Config): string[] {
  const bearer = config.entra
    ? `Bearer realm="Plansync", authorization_uri="${config.entra.authorityHost}/${config.entra.tenantId}/oauth2/authorize"`
    : 'Bearer realm="Plansync"';
  return ['Basic realm="Plansync", charset="UTF-8"', bearer];
}

/** `Content-Disposition` for a download named `name`: an ASCII fallback and the UTF-8 name (RFC 6266). */
function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** A query parameter given more than once (`?planId=a&planId=b`): which one was meant cannot be guessed. */
class RepeatedParameter extends Error {}

/**
 * A query parameter's value; null when it is absent. Throws RepeatedParameter when it is given twice: taking one
 * of them, or neither, would answer another question than the one asked (a second `businessUnitCode` read as
 * none would export every unit the caller may read).
 */
function param(req: Request, name: string): string | null {
  const value = req.query[name];
  if (value === undefined) return null;
  if (typeof value !== 'string') throw new RepeatedParameter(`${name} is given more than once; give it once`);
  return value;
}

/** The query parameters `names`, or null after answering 400 when one of them is given more than once. */
function params<N extends string>(req: Request, res: Response, ...names: N[]): Record<N, string | null> | null {
  try {
    return Object.fromEntries(names.map((name) => [name, param(req, name)])) as Record<N, string | null>;
  } catch (err) {
    if (!(err instanceof RepeatedParameter)) throw err;
    sendError(res, 400, ErrorCode.BAD_USER_INPUT, err.message);
    return null;
  }
}

interface PlanRow {
  id: string;
  name: string;
  status: PlanStatus;
}

export function spreadsheetRouters(services: Services, log: Logger): { exports: express.Router; imports: express.Router } {
  const { config } = services;

  /** The viewer of the request's credentials; answers 401 itself (and gives null) when there are none valid. */
  async function viewerOf(req: Request, res: Response): Promise<Viewer | null> {
    const viewer = await ((res.locals.viewer as Promise<Viewer | null> | undefined) ?? services.viewers.fromToken(services.orm.em, requestToken(req)));
    if (!viewer) {
      res.setHeader('WWW-Authenticate', challenges(config));
      sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in: a Bearer token, or HTTP Basic with any user name and an access token as the password');
    }
    return viewer;
  }

  async function readPlan(planId: string): Promise<PlanRow | null> {
    const { rows } = await withSqlClient(services.orm.em, (client) =>
      client.query<PlanRow>({ name: 'plansync.sheets.plan', text: 'SELECT id, name, status FROM budget_plan WHERE id = $1::uuid', values: [planId] }),
    );
    return rows[0] ?? null;
  }

  const exports = express.Router({ caseSensitive: true, strict: false });
  exports.use((_req, res, next) => {
    // Answers are per person: no browser or proxy may keep one.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  exports.get(/^\/budget-lines\.(csv|xlsx)$/, async (req, res) => {
    const format = (req.params as Record<string, string>)[0] as SheetFormat;
    const viewer = await viewerOf(req, res);
    if (!viewer) return;
    const query = params(req, res, 'planId', 'businessUnitCode');
    if (!query) return;
    const { planId, businessUnitCode: unitCode } = query;
    if (planId === null) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'planId is required: /export/budget-lines.csv?planId=…');
    // As GraphQL refuses it in any string (PostgreSQL cannot take it as text).
    if (unitCode?.includes('\u0000')) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'businessUnitCode must not contain NUL characters');
    const scope = unitIdsOf(readableUnits(viewer));
    let plan: PlanRow | null = null;
    let unitId: string | null = null;
    // As budgetLines answers: every line the caller may read, when they may read none, is no line (not FORBIDDEN).
    if (!(unitCode === null && scope?.length === 0)) {
      try {
        requirePlanReader(viewer, planId);
        plan = await readPlan(planId);
        if (!plan) throw planNotFound();
        if (unitCode !== null) {
          const found =
            // Too long to name a unit: not looked up.
            unitCode.length <= MAX_UNIT_CODE_LENGTH
              ? await withSqlClient(services.orm.em, (client) =>
                  client.query<{ id: string }>({ name: 'plansync.sheets.unit', text: 'SELECT id FROM business_unit WHERE code = $1', values: [unitCode] }),
                )
              : { rows: [] };
          unitId = requireReadableUnit(viewer, found.rows[0]?.id ?? null);
        }
      } catch (err) {
        return sendRefusal(res, err);
      }
    }

    const name = `budget-lines-${plan?.name ?? 'plan'}${unitCode !== null ? `-${unitCode}` : ''}.${format}`;
    res.status(200);
    res.setHeader('Content-Type', SHEET_CONTENT_TYPES[format]);
    res.setHeader('Content-Disposition', attachment(name));
    try {
      // Inside the try: loading exceljs (on the first xlsx export) could fail, and is then a 500, not a hang.
      const writer = await sheetWriter(format, res);
      if (plan) {
        for await (const rows of exportedLines(services.orm.em, plan.id, unitId, scope)) {
          if (res.destroyed) return;
          await writer.addRows(rows);
        }
      }
      await writer.finish();
    } catch (err) {
      log.error({ err, planId }, 'export failed');
      // Rows may be on their way: the connection is cut so the client sees a failure, not a short file.
      if (res.headersSent) res.destroy();
      else sendError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
  });

  exports.use((_req: Request, res: Response) =>
    sendError(res, 404, ErrorCode.NOT_FOUND, 'Not an export: GET /export/budget-lines.csv or /export/budget-lines.xlsx'),
  );

  const imports = express.Router({ caseSensitive: true, strict: false });
  imports.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // The people with an xlsx workbook being read (by id): one at a time each. A read takes a reader process of the
  // instance's MAX_WORKERS for up to its time limit, so one person sending workbooks in a loop could otherwise keep
  // every other person's xlsx import waiting (found in a security QA pass). CSV is read as it streams, on no reader.
  const readingXlsx = new Set<string>();
  const XLSX_BUSY_RETRY_SECONDS = 5;

  imports.post('/budget-lines', async (req, res) => {
    const viewer = await viewerOf(req, res);
    if (!viewer) return;
    if (!credentialsMayWrite(viewer)) return sendError(res, 403, ErrorCode.FORBIDDEN, 'This access token may only read (scope READ)');
    const format = formatOf(req.headers['content-type']);
    if (!format) {
      return sendError(res, 415, ErrorCode.BAD_USER_INPUT, `Send the file as ${CSV_TYPE} or ${XLSX_TYPE} (xlsx)`);
    }
    const query = params(req, res, 'planId', 'dryRun');
    if (!query) return;
    const { planId, dryRun: dryRunText } = query;
    if (planId === null) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'planId is required: /import/budget-lines?planId=…');
    if (dryRunText !== null && dryRunText !== 'true' && dryRunText !== 'false') {
      return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'dryRun is true or false');
    }
    let plan: PlanRow | null;
    try {
      requirePlanReader(viewer, planId);
      plan = await readPlan(planId);
      if (!plan) throw planNotFound();
      if (plan.status !== 'OPEN') throw forbidden(PLAN_CLOSED);
    } catch (err) {
      return sendRefusal(res, err);
    }

    if (format === 'xlsx') {
      if (readingXlsx.has(viewer.userId)) {
        res.setHeader('Retry-After', String(XLSX_BUSY_RETRY_SECONDS));
        return sendError(res, 429, ErrorCode.RATE_LIMITED, 'A workbook of yours is still being read: send the next once it has been answered');
      }
      readingXlsx.add(viewer.userId);
    }
    try {
      await readAndImport(req, res, viewer, plan, format, dryRunText === 'true');
    } finally {
      // Once its read and import are over, not when its client goes: a client that hangs up leaves the reader busy.
      if (format === 'xlsx') readingXlsx.delete(viewer.userId);
    }
  });

  async function readAndImport(req: Request, res: Response, viewer: Viewer, plan: PlanRow, format: SheetFormat, dryRun: boolean) {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      // The rest of the body is read and dropped (by Node, once this is answered): closing the connection on a
      // client still sending could lose this answer to a reset. requestTimeout bounds a body that never ends.
      return sendError(res, 413, ErrorCode.BAD_USER_INPUT, err.message);
    }
    try {
      const sheet = format === 'csv' ? await readCsvSheet(decodeCsv(body, charsetOf(req.headers['content-type']))) : await readXlsxSheet(body, config.xlsxReaderMemoryMb);
      const importPlan: ImportPlan = plan;
      const outcome = await importSheet({
        em: services.orm.em.fork(),
        live: services.budgetLines,
        viewer,
        plan: importPlan,
        scope: unitIdsOf(readableUnits(viewer)),
        rows: sheet.rows,
        decimalComma: sheet.decimalComma,
        dryRun,
        format,
      });
      res.json(outcome);
    } catch (err) {
      if (err instanceof MalformedFile) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, err.message);
      return sendRefusal(res, err);
    }
  }

  imports.use((req: Request, res: Response) => {
    if (req.path === '/budget-lines') {
      res.setHeader('Allow', 'POST');
      return sendError(res, 405, ErrorCode.BAD_USER_INPUT, 'Import with POST');
    }
    sendError(res, 404, ErrorCode.NOT_FOUND, 'Not an import: POST /import/budget-lines');
  });

  return { exports, imports };
}
