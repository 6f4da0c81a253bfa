/**
 * An OData request's query options, parsed by @odata/parser (the OASIS ABNF grammar) and translated into
 * parameterised SQL over one entity set (entitySets.ts): `$filter` becomes a WHERE condition that PostgreSQL
 * evaluates (so Power Query's folded filters, and incremental refresh on UpdatedAt, read only matching rows),
 * `$orderby` an ORDER BY, `$select` the columns. Values only ever travel as parameters; names only as the
 * entity set's own property expressions. Anything the feed does not support, or that names no property, or
 * compares a property with a value of another kind, is a `BadOption` (400), never a database error.
 */
import type { defaultParser as DefaultParser, Token } from '@odata/parser';
import type { EdmType, EntitySet, Property } from './entitySets.js';

/** A query option the feed cannot answer: 400 with this message. */
export class BadOption extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadOption';
  }
}

/** Parameters of one statement: `add` returns the placeholder (with its cast) for a value. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

export interface OrderItem {
  property: Property;
  descending: boolean;
}

export interface QueryOptions {
  /** SQL of the $filter condition (over `params`), or null. */
  filter: ((params: SqlParams) => string) | null;
  /** The properties to send, in the entity's order ($select, or all). */
  select: Property[];
  /** Whether $select narrowed the properties (the context URL then names them). */
  selected: boolean;
  orderBy: OrderItem[];
  top: number | null;
  skip: number;
  count: boolean;
  skipToken: string | null;
}

const SUPPORTED = new Set(['$filter', '$select', '$orderby', '$top', '$skip', '$count', '$skiptoken', '$format']);
/** Rows a request may skip or ask for: far beyond any plan, within PostgreSQL's bigint and JS's safe integers. */
const MAX_COUNT = 2 ** 53 - 1;

function parse<T>(what: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof BadOption) throw err;
    throw new BadOption(`${what} is not valid OData: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The property a `Property` or `FirstMemberExpression` names, or a BadOption. */
function propertyOf(set: EntitySet, token: Token, what: string): Property {
  let t: Token | undefined = token;
  if (t?.type === 'CommonExpression') t = t.value as Token;
  if (t?.type === 'FirstMemberExpression') t = t.value as Token;
  if (t?.type === 'MemberExpression') t = t.value as Token;
  if (t?.type === 'PropertyPathExpression') {
    const inner = t.value as Token;
    // A path (A/B) or navigation: nothing of ours has them.
    if (inner?.type !== 'ODataIdentifier' || t.raw !== inner.raw) throw new BadOption(`${what}: ${token.raw} is not a property of ${set.name}`);
    t = inner;
  }
  const name = t?.type === 'ODataIdentifier' ? (t.value as { name?: unknown }).name : undefined;
  const property = typeof name === 'string' ? set.properties.find((p) => p.name === name) : undefined;
  if (!property) throw new BadOption(`${what}: ${token.raw} is not a property of ${set.name}`);
  return property;
}

type Literal = { kind: 'null' } | { kind: 'string'; value: string } | { kind: 'number'; value: number; integer: boolean } | { kind: 'guid'; value: string } | { kind: 'datetime'; value: string } | { kind: 'other'; type: string };

const NUMERIC_LITERALS = new Set(['Edm.SByte', 'Edm.Byte', 'Edm.Int16', 'Edm.Int32', 'Edm.Int64', 'Edm.Decimal', 'Edm.Double', 'Edm.Single']);
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,12})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/i;

/** A DateTimeOffset literal PostgreSQL will read as the same instant (the grammar lets 2026-02-30 through). */
function validDateTime(text: string): boolean {
  const m = DATETIME.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  return m[7] === undefined || (Number(m[8]) <= 14 && Number(m[9]) <= 59);
}

function literalOf(token: Token): Literal | null {
  if (token?.type !== 'Literal') return null;
  const type = token.value as unknown as string;
  const raw = token.raw;
  if (type === 'null') return { kind: 'null' };
  if (type === 'Edm.String') {
    const value = raw.slice(1, -1).replace(/''/g, "'");
    // PostgreSQL's text cannot hold a NUL: no stored value has one, and sent as a parameter it is an error.
    if (value.includes('\0')) throw new BadOption('A text value cannot contain a NUL character');
    return { kind: 'string', value };
  }
  if (NUMERIC_LITERALS.has(type)) {
    const value = Number(raw);
    // NaN, INF and numbers beyond a double: nothing a stored amount can equal or be compared with.
    if (!Number.isFinite(value)) throw new BadOption(`${raw} is not a finite number`);
    return { kind: 'number', value, integer: /^[+-]?\d+$/.test(raw) && Number.isSafeInteger(value) };
  }
  if (type === 'Edm.Guid') return { kind: 'guid', value: raw.toLowerCase() };
  if (type === 'Edm.DateTimeOffset') {
    if (!validDateTime(raw)) throw new BadOption(`${raw} is not a valid date and time`);
    return { kind: 'datetime', value: raw };
  }
  return { kind: 'other', type };
}

/** The placeholder of a literal compared with `property`, or a BadOption when the kinds differ. */
function valueFor(property: Property, literal: Literal, params: SqlParams, raw: string): string {
  const mismatch = () => new BadOption(`${property.name} is ${property.type}: it cannot be compared with ${raw}`);
  const type: EdmType = property.type;
  switch (literal.kind) {
    case 'string':
      if (type !== 'Edm.String') throw mismatch();
      return params.add(literal.value, 'text');
    case 'number':
      if (type === 'Edm.Double') return params.add(literal.value, 'float8');
      if (type === 'Edm.Int32' || type === 'Edm.Int64') {
        // An integer as bigint keeps an index on the column usable; a fraction compares exactly as numeric.
        return literal.integer ? params.add(String(literal.value), 'int8') : params.add(String(literal.value), 'numeric');
      }
      throw mismatch();
    case 'guid':
      if (type !== 'Edm.Guid') throw mismatch();
      return params.add(literal.value, 'uuid');
    case 'datetime':
      if (type !== 'Edm.DateTimeOffset') throw mismatch();
      return params.add(literal.value, 'timestamptz');
    default:
      throw mismatch();
  }
}

const COMPARISONS: Record<string, string> = {
  EqualsExpression: '=',
  NotEqualsExpression: '<>',
  LesserThanExpression: '<',
  LesserOrEqualsExpression: '<=',
  GreaterThanExpression: '>',
  GreaterOrEqualsExpression: '>=',
};

/** How deep a filter may nest, and how many values it may hold: far beyond any real one, well within PostgreSQL's limits. */
const MAX_FILTER_DEPTH = 100;
const MAX_FILTER_VALUES = 1000;

/** The SQL condition of a boolean filter expression. */
function condition(set: EntitySet, token: Token, params: SqlParams, depth = 0): string {
  if (depth > MAX_FILTER_DEPTH) throw new BadOption(`$filter nests more than ${MAX_FILTER_DEPTH} levels deep`);
  if (params.values.length > MAX_FILTER_VALUES) throw new BadOption(`$filter holds more than ${MAX_FILTER_VALUES} values`);
  switch (token?.type) {
    case 'AndExpression':
    case 'OrExpression': {
      const { left, right } = token.value as { left: Token; right: Token };
      const op = token.type === 'AndExpression' ? 'AND' : 'OR';
      return `(${condition(set, left, params, depth + 1)} ${op} ${condition(set, right, params, depth + 1)})`;
    }
    case 'NotExpression':
      // In OData a comparison with a null is false, so `not` of it is true (not (BudgetAmount eq 5) holds for a
      // null amount); SQL's NOT of unknown is unknown. IS NOT TRUE is OData's not: true for false and for unknown.
      return `(${condition(set, token.value as Token, params, depth + 1)} IS NOT TRUE)`;
    case 'BoolParenExpression':
      return condition(set, token.value as Token, params, depth + 1);
    case 'MethodCallExpression': {
      const { method, parameters } = token.value as { method: string; parameters: Token[] };
      if (!['contains', 'startswith', 'endswith'].includes(method)) throw new BadOption(`${method}() is not supported; contains, startswith and endswith are`);
      if (parameters.length !== 2) throw new BadOption(`${method}() takes a property and a text`);
      const property = propertyOf(set, parameters[0], '$filter');
      const literal = literalOf(parameters[1]);
      if (property.type !== 'Edm.String' || literal?.kind !== 'string') throw new BadOption(`${method}() compares a text property with a text, as in ${method}(Region,'North')`);
      const value = params.add(literal.value, 'text');
      // strpos and starts_with, not LIKE: a % or _ in the text is itself, with nothing to escape.
      if (method === 'contains') return `(strpos(${property.sql}, ${value}) > 0)`;
      if (method === 'startswith') return `starts_with(${property.sql}, ${value})`;
      return `(right(${property.sql}, char_length(${value})) = ${value})`;
    }
    default: {
      const op = COMPARISONS[token?.type];
      if (!op) throw new BadOption(`${token?.raw ?? 'the filter'}: only comparisons (eq ne gt ge lt le), and, or, not, contains, startswith and endswith are supported`);
      const { left, right } = token.value as { left: Token; right: Token };
      const property = propertyOf(set, left, '$filter');
      const literal = literalOf(right);
      if (!literal) throw new BadOption(`${token.raw}: compare a property with a value, as in Quarter eq 'Q1'`);
      if (literal.kind === 'null') {
        if (op === '=') return `(${property.sql} IS NULL)`;
        if (op === '<>') return `(${property.sql} IS NOT NULL)`;
        throw new BadOption(`${token.raw}: null can only be compared with eq or ne`);
      }
      const value = valueFor(property, literal, params, right.raw);
      // OData's `ne` holds for a null (null ne 5 is true), as IS DISTINCT FROM does; SQL's <> would drop it.
      if (op === '<>') return `(${property.sql} IS DISTINCT FROM ${value})`;
      return `(${property.sql} ${op} ${value})`;
    }
  }
}

/**
 * A $filter with its numbers in exponent notation spelled as @odata/parser reads them. OData's ABNF writes a
 * double as `[SIGN] 1*DIGIT ["." 1*DIGIT] ["e" [SIGN] 1*DIGIT]` with the `e` in either case (ABNF strings are
 * case-insensitive), so `1e5`, `1E5` and `2.5E-3` are valid literals (what a tool writing numbers with
 * exponents sends); the parser reads only `1.0e5`, a lower-case `e` after a fraction. Text inside string
 * literals ('…', quotes doubled) is left as it is, and so are digits that are part of a name or a GUID.
 */
export function withParsableExponents(filter: string): string {
  return filter.replace(/'(?:[^']|'')*'|(?<![\w.'-])([+-]?\d+)(?:\.(\d+))?[eE]([+-]?\d+)(?![\w.-])/g, (match, whole?: string, fraction?: string, exponent?: string) =>
    whole === undefined ? match : `${whole}.${fraction ?? '0'}e${exponent}`,
  );
}

function nonNegativeInteger(name: string, text: string): number {
  if (!/^\d{1,16}$/.test(text) || Number(text) > MAX_COUNT) throw new BadOption(`${name} must be a whole number, 0 or more`);
  return Number(text);
}

/**
 * What a query option may hold before it reaches the parser. @odata/parser backtracks: its time grows with the
 * square of how deeply parentheses nest (2,500 unclosed ones, a 7 KB URL, held the event loop, so every request
 * of every person, for seconds), and it spends up to a tenth of a millisecond a character on long ones; the
 * limits on the parsed filter (MAX_FILTER_DEPTH) come only after that time is spent. Text values are left out of
 * the count (a comment searched for may be long, and its characters cost next to nothing): a filter's structure
 * is names, operators and other literals, and 100 comparisons of GUIDs (what MAX_FILTER_DEPTH lets through) are
 * under 5,000 characters of it. $select and $orderby name at most every property once, a few hundred characters.
 */
const MAX_FILTER_STRUCTURE = 6000;
const MAX_FILTER_PARENTHESES = 32;
const MAX_LIST_OPTION_LENGTH = 1000;

/** Refuses, before parsing, a $filter whose structure is too long or nests parentheses too deeply. */
function checkFilterSize(filter: string): void {
  const structure = filter.replace(/'(?:[^']|'')*'/g, "''");
  if (structure.length > MAX_FILTER_STRUCTURE) {
    throw new BadOption(`$filter is longer than ${MAX_FILTER_STRUCTURE} characters (its text values not counted)`);
  }
  let depth = 0;
  for (const c of structure) {
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    if (depth > MAX_FILTER_PARENTHESES) throw new BadOption(`$filter nests parentheses more than ${MAX_FILTER_PARENTHESES} deep`);
  }
}

/** Refuses, before parsing, a $select or $orderby longer than any that names each property once. */
function checkListOptionSize(name: string, value: string): void {
  if (value.length > MAX_LIST_OPTION_LENGTH) throw new BadOption(`${name} is longer than ${MAX_LIST_OPTION_LENGTH} characters`);
}

let parserLoaded: Promise<typeof DefaultParser> | undefined;

/**
 * @odata/parser (about 1.3 MB of heap), loaded with the first OData request rather than with the server: what a
 * process loads stays in its heap for good and every major garbage collection walks it (spreadsheets/excel.ts).
 */
function loadParser(): Promise<typeof DefaultParser> {
  parserLoaded ??= import('@odata/parser').then((mod) => mod.defaultParser);
  return parserLoaded;
}

/**
 * Parses the query options of a request for `set` (`query`: the decoded name/value pairs of the query string).
 * Names that do not start with `$` are custom options, ignored as OData says; an unknown or unsupported `$`
 * option is a BadOption.
 */
export async function parseQueryOptions(set: EntitySet, query: URLSearchParams): Promise<QueryOptions> {
  const defaultParser = await loadParser();
  const options: QueryOptions = { filter: null, select: set.properties, selected: false, orderBy: [], top: null, skip: 0, count: false, skipToken: null };
  const seen = new Set<string>();
  for (const [rawName, value] of query) {
    const name = rawName.startsWith('$') ? rawName.toLowerCase() : rawName;
    if (!name.startsWith('$')) continue;
    if (!SUPPORTED.has(name)) throw new BadOption(`${rawName} is not supported; the feed answers ${[...SUPPORTED].join(', ')}`);
    if (seen.has(name)) throw new BadOption(`${rawName} is given more than once`);
    seen.add(name);
    switch (name) {
      case '$filter': {
        checkFilterSize(value);
        const text = withParsableExponents(value);
        const ast = parse('$filter', () => defaultParser.filter(text));
        // The parser stops at what it understands; anything left over is not a filter.
        if (!ast || ast.raw !== text) throw new BadOption(`$filter is not valid OData at ${JSON.stringify(text.slice(ast?.raw.length ?? 0))}`);
        // Translated now, so that a bad filter is refused before anything is read; placed into a statement later.
        const check = new SqlParams();
        condition(set, ast, check);
        options.filter = (params) => condition(set, ast, params);
        break;
      }
      case '$select': {
        checkListOptionSize('$select', value);
        const ast = parse('$select', () => defaultParser.query(`$select=${value}`));
        const items = (ast.value.options[0]?.value as { items?: Token[] } | undefined)?.items;
        if (!items || ast.raw !== `$select=${value}`) throw new BadOption('$select is not valid OData');
        const names = new Set<string>();
        for (const item of items) {
          const text = item.raw.trim();
          if (text === '*') {
            set.properties.forEach((p) => names.add(p.name));
            continue;
          }
          const property = set.properties.find((p) => p.name === text);
          if (!property) throw new BadOption(`$select: ${text} is not a property of ${set.name}`);
          names.add(property.name);
        }
        options.select = set.properties.filter((p) => names.has(p.name));
        options.selected = names.size < set.properties.length;
        break;
      }
      case '$orderby': {
        checkListOptionSize('$orderby', value);
        const ast = parse('$orderby', () => defaultParser.query(`$orderby=${value}`));
        const items = (ast.value.options[0]?.value as { items?: Token[] } | undefined)?.items;
        if (!items || ast.raw !== `$orderby=${value}`) throw new BadOption('$orderby is not valid OData');
        const used = new Set<string>();
        for (const item of items) {
          const { expr, direction } = item.value as { expr: Token; direction: number };
          const property = propertyOf(set, expr, '$orderby');
          if (used.has(property.name)) throw new BadOption(`$orderby names ${property.name} twice`);
          used.add(property.name);
          options.orderBy.push({ property, descending: direction === -1 });
        }
        break;
      }
      case '$top':
        options.top = nonNegativeInteger('$top', value);
        break;
      case '$skip':
        options.skip = nonNegativeInteger('$skip', value);
        break;
      case '$count':
        if (value !== 'true' && value !== 'false') throw new BadOption('$count must be true or false');
        options.count = value === 'true';
        break;
      case '$skiptoken':
        options.skipToken = value;
        break;
      case '$format':
        if (!/^json$|^application\/json(;.*)?$/i.test(value)) throw new BadOption('$format: the feed answers json only');
        break;
    }
  }
  return options;
}
