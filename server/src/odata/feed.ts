/**
 * Reading an entity set for the OData feed: the statement for a request (its scope, filter, order and keyset
 * position), run a chunk at a time, each chunk's rows written to the response as they come, so memory stays
 * flat whatever the page size; and the `$skiptoken` that carries a page's last position to the next.
 *
 * Paging is by keyset, not OFFSET: the order is the request's `$orderby` with the entity's tiebreak (its key)
 * last, so every row has one place in it, and a next page starts strictly after the last row sent. A row
 * present throughout a read is sent exactly once, however rows around it change meanwhile (unless its own
 * ordered values change between pages, which the default orders rule out: they are by values an edit never
 * changes, the plan, unit and grid position of a line, then the key).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { inSqlTransaction, withSqlClient } from '../db/sql.js';
import { exportableText } from '../db/storableText.js';
import { outputSql, sqlTypeOf, type EdmType, type EntitySet, type Property, type RowScope } from './entitySets.js';
import { BadOption, SqlParams, type QueryOptions } from './queryOptions.js';

/** One term of a read's order: an SQL expression, its type, and whether it may be null. */
interface OrderTerm {
  sql: string;
  type: EdmType;
  nullable: boolean;
  descending: boolean;
}

/** Rows read per statement within a page: bounds the memory of one request whatever ODATA_PAGE_SIZE is. */
const CHUNK_ROWS = 1000;

/**
 * Called with every statement the feed runs (text and values). For tests, which check that a filter is in the
 * SQL PostgreSQL was given (and with EXPLAIN ANALYZE, that it read only matching rows); empty otherwise.
 */
export const statementObservers = new Set<(text: string, values: readonly unknown[]) => void>();

function orderTerms(set: EntitySet, options: QueryOptions): OrderTerm[] {
  const terms: OrderTerm[] = options.orderBy.map((o) => ({ sql: o.property.sql, type: o.property.type, nullable: o.property.nullable, descending: o.descending }));
  if (!options.orderBy.length) for (const t of set.defaultOrder ?? []) terms.push({ sql: t.sql, type: t.type, nullable: false, descending: false });
  for (const t of set.tiebreak) terms.push({ sql: t.sql, type: t.type, nullable: false, descending: false });
  return terms;
}

/** Where a page starts: after the row with these ordered values (as PostgreSQL's text), and how many rows remain of $top. */
interface Position {
  after: (string | null)[];
  remaining: number | null;
}

export function encodeSkipToken(position: Position): string {
  return Buffer.from(JSON.stringify({ a: position.after, r: position.remaining })).toString('base64url');
}

/** What each type's text looks like as PostgreSQL writes it: a token whose values are not is refused (400), never cast. */
const VALUE_TEXT: Record<EdmType, RegExp> = {
  'Edm.Guid': /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  'Edm.String': /^[^\0]*$/,
  'Edm.Int32': /^-?\d{1,10}$/,
  'Edm.Int64': /^-?\d{1,19}$/,
  'Edm.Double': /^(-?\d+(\.\d+)?(e[+-]\d+)?|-?Infinity|NaN)$/,
  'Edm.DateTimeOffset': /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/,
};

function decodeSkipToken(token: string, terms: OrderTerm[]): Position {
  const bad = () => new BadOption('$skiptoken is not one this feed gave (follow @odata.nextLink as it is)');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const { a, r } = (decoded ?? {}) as { a?: unknown; r?: unknown };
  if (!Array.isArray(a) || a.length !== terms.length) throw bad();
  a.forEach((value, i) => {
    if (value === null ? !terms[i].nullable : typeof value !== 'string' || !VALUE_TEXT[terms[i].type].test(value)) throw bad();
  });
  if (r !== null && !(Number.isSafeInteger(r) && (r as number) >= 0)) throw bad();
  return { after: a as (string | null)[], remaining: r as number | null };
}

/**
 * Where a term puts its nulls. OData orders a null before every value in ascending order, so after them in
 * descending order (OData Part 2, `$orderby`; what Power Query's own sort does, so a folded sort and top-N keep
 * their meaning): the opposite of PostgreSQL's defaults. A term that is never null keeps PostgreSQL's default
 * (nulls last ascending, first descending), which changes nothing about its rows and lets an index in the
 * default direction serve the order.
 */
function nullsFirst(term: OrderTerm): boolean {
  return term.nullable ? !term.descending : term.descending;
}

/** The ORDER BY item of a term. */
function orderItem(term: OrderTerm): string {
  return `${term.sql} ${term.descending ? 'DESC' : 'ASC'} ${nullsFirst(term) ? 'NULLS FIRST' : 'NULLS LAST'}`;
}

/** The condition "ordered after `after`", with each term's nulls where `nullsFirst` puts them (as ORDER BY does). */
function afterCondition(terms: OrderTerm[], after: (string | null)[], params: SqlParams): string {
  // Every term ascending and never null (the default orders): one row comparison, which PostgreSQL turns into
  // an index range where an index has those columns, instead of an OR it can only filter with.
  if (terms.every((t) => !t.descending && !t.nullable) && after.every((v) => v !== null)) {
    return `(${terms.map((t) => t.sql).join(', ')}) > (${terms.map((t, i) => params.add(after[i], sqlTypeOf(t.type))).join(', ')})`;
  }
  const alternatives: string[] = [];
  for (let i = 0; i < terms.length; i++) {
    const equalBefore = terms.slice(0, i).map((t, j) => (after[j] === null ? `${t.sql} IS NULL` : `${t.sql} = ${params.add(after[j], sqlTypeOf(t.type))}`));
    const t = terms[i];
    const v = after[i];
    let beyond: string | null;
    if (v === null) {
      // After a null come the values when nulls come first; nothing when they come last.
      beyond = nullsFirst(t) ? `${t.sql} IS NOT NULL` : null;
    } else {
      const past = `${t.sql} ${t.descending ? '<' : '>'} ${params.add(v, sqlTypeOf(t.type))}`;
      // Nulls that come last are after every value.
      beyond = t.nullable && !nullsFirst(t) ? `(${past} OR ${t.sql} IS NULL)` : past;
    }
    if (beyond !== null) alternatives.push(`(${[...equalBefore, beyond].join(' AND ')})`);
  }
  return alternatives.length ? `(${alternatives.join(' OR ')})` : 'FALSE';
}

function scopeCondition(set: EntitySet, scope: RowScope, params: SqlParams): string | null {
  if (scope.kind !== 'units') return null;
  return `${set.unitIdSql} = ANY(${params.add(scope.unitIds, 'uuid[]')})`;
}

function whereClause(conditions: (string | null)[]): string {
  const present = conditions.filter((c): c is string => c !== null);
  return present.length ? `WHERE ${present.join(' AND ')}` : '';
}

async function run<R extends Record<string, unknown>>(em: EntityManager, text: string, values: unknown[], walkTheIndex = false): Promise<R[]> {
  for (const observe of statementObservers) observe(text, values);
  if (!walkTheIndex) return (await withSqlClient(em, (client) => client.query<R>({ text, values }))).rows;
  // A page in a default order (BudgetLines: plan, unit, position, id) is an index range: walk it in order and
  // stop at the page's end. PostgreSQL estimates a row comparison by its first column alone, so after the
  // first page of a big plan it expects a few hundred rows left, and would join and sort every remaining line
  // on every page instead (measured: 100,000 lines read 20 times slower). Sorting is made its last resort for
  // this one statement (SET LOCAL: the pooled connection keeps its settings); with no index in the order's
  // shape it still sorts.
  return inSqlTransaction(em, async (client) => {
    await client.query('SET LOCAL enable_sort = off');
    return (await client.query<R>({ text, values })).rows;
  });
}

/** How many rows the filter matches within the scope ($count=true). */
export async function countRows(em: EntityManager, set: EntitySet, scope: RowScope, options: QueryOptions): Promise<number> {
  if (scope.kind === 'none') return 0;
  const params = new SqlParams();
  const where = whereClause([scopeCondition(set, scope, params), options.filter?.(params) ?? null]);
  const rows = await run<{ n: string }>(em, `SELECT count(*) AS n FROM ${set.from} ${where}`, params.values);
  return Number(rows[0].n);
}

function jsonValue(property: Property, value: unknown): unknown {
  // bigint comes back from pg as text; OData's JSON writes Int64 as a number (no IEEE754Compatible asked).
  if (property.type === 'Edm.Int64' && typeof value === 'string') return Number(value);
  // Text reads as the spreadsheet exports write it (a comment stored before the rules refused U+FFFE, say).
  if (property.type === 'Edm.String' && typeof value === 'string') return exportableText(value);
  return value ?? null;
}

export interface PageWriter {
  /** Writes a piece of the answer; resolves once the response can take more (backpressure). */
  write(text: string): Promise<void>;
}

/**
 * Reads one page of `set` (at most `pageSize` rows, and what remains of $top) starting at the request's
 * position, writing each row's JSON (comma-separated) through `out` as it is read. Returns the position of
 * the next page, or null when this one is the last.
 */
export async function writePage(
  em: EntityManager,
  set: EntitySet,
  scope: RowScope,
  options: QueryOptions,
  pageSize: number,
  out: PageWriter,
): Promise<Position | null> {
  const terms = orderTerms(set, options);
  const start = options.skipToken !== null ? decodeSkipToken(options.skipToken, terms) : null;
  let after = start?.after ?? null;
  let remaining = start ? start.remaining : options.top;
  // $skip counts from the first row of the first page; later pages start after a position instead.
  let offset = start ? 0 : options.skip;
  if (scope.kind === 'none') return null;
  let sent = 0;
  const columns = options.select.map((p, i) => `${outputSql(p)} AS c${i}`);
  const keys = terms.map((t, i) => `(${t.sql})::text AS k${i}`);
  const orderBy = terms.map(orderItem).join(', ');
  for (;;) {
    const want = Math.min(CHUNK_ROWS, pageSize - sent, remaining ?? Infinity);
    if (want <= 0) break;
    const params = new SqlParams();
    const where = whereClause([scopeCondition(set, scope, params), options.filter?.(params) ?? null, after ? afterCondition(terms, after, params) : null]);
    // One row more than wanted says whether there is more after this chunk.
    const text = `SELECT ${[...columns, ...keys].join(', ')} FROM ${set.from} ${where} ORDER BY ${orderBy} LIMIT ${want + 1}${offset ? ` OFFSET ${params.add(String(offset), 'int8')}` : ''}`;
    const rows = await run(em, text, params.values, !options.orderBy.length && !!set.defaultOrder);
    offset = 0;
    const taken = rows.slice(0, want);
    let json = '';
    for (const row of taken) {
      const entity: Record<string, unknown> = {};
      options.select.forEach((p, i) => (entity[p.name] = jsonValue(p, row[`c${i}`])));
      json += (sent === 0 && json === '' ? '' : ',') + JSON.stringify(entity);
    }
    if (json) await out.write(json);
    sent += taken.length;
    if (remaining !== null) remaining -= taken.length;
    if (taken.length) after = terms.map((_, i) => (taken[taken.length - 1][`k${i}`] as string | null) ?? null);
    const more = rows.length > want;
    if (!more || remaining === 0) return null;
    if (sent >= pageSize) return { after: after!, remaining };
  }
  return null;
}
