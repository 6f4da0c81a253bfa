/**
 * The OData feed's entity sets (CONTRACT.md, "OData feed for Excel and Power BI"): for each, its properties
 * (name, EDM type, and the SQL expression that reads it) and the FROM clause its rows come from. These are the
 * only column names that ever reach SQL: a query option names a property, and the property's expression from
 * here is what is written, never the caller's text.
 *
 * Which rows a caller may read is the policies' (policies/businessUnit.ts `readableUnits`,
 * policies/budgetPlan.ts `canReadPlans`, policies/cellChange.ts `readableCellChanges`): the same list scopes
 * the GraphQL resolvers use, turned into a condition of the WHERE clause here (`scopeOf`).
 */
import { canReadPlans } from '../policies/budgetPlan.js';
import { readableUnits, unitIdsOf } from '../policies/businessUnit.js';
import { readableCellChanges } from '../policies/cellChange.js';
import type { Viewer } from '../policies/viewer.js';

export type EdmType = 'Edm.Guid' | 'Edm.String' | 'Edm.Int32' | 'Edm.Int64' | 'Edm.Double' | 'Edm.DateTimeOffset';

export interface Property {
  name: string;
  type: EdmType;
  nullable: boolean;
  /** The SQL expression of the value (over the aliases of the entity set's FROM clause). */
  sql: string;
}

/** What a list query may read: every row, none, or the rows of these business units (ids). */
export type RowScope = { kind: 'all' } | { kind: 'none' } | { kind: 'units'; unitIds: string[] };

export interface EntitySet {
  name: string;
  /** The entity type's name in $metadata (`Plansync.<type>`). */
  typeName: string;
  properties: Property[];
  /** The OData key (property names). */
  key: string[];
  /**
   * What paging orders by last, so that every row has one place in the order (the key, or for a submission,
   * whose OData key is two properties, its row id): SQL expressions of non-null values, unique together.
   */
  tiebreak: { sql: string; type: EdmType }[];
  /**
   * The order of a request without `$orderby`, before the tiebreak: what a person opening the feed in Excel
   * expects to see (a unit's lines together, in the grid's order), not the random order of ids. Non-null
   * values that an edit of a row's figures never changes, so a read is still exactly-once while people work.
   */
  defaultOrder?: { sql: string; type: EdmType }[];
  from: string;
  /** The SQL expression of a row's business unit id, which the scope limits (null: plans, read whole). */
  unitIdSql: string | null;
  scopeOf(viewer: Viewer): RowScope;
}

/** A timestamp as OData writes it: ISO 8601 in UTC with all the microseconds PostgreSQL keeps. */
function isoText(sql: string): string {
  return `to_char(${sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function unitScope(scope: ReturnType<typeof readableUnits>): RowScope {
  const ids = unitIdsOf(scope);
  if (ids === null) return { kind: 'all' };
  return ids.length === 0 ? { kind: 'none' } : { kind: 'units', unitIds: ids };
}

const p = (name: string, type: EdmType, sql: string, nullable = false): Property => ({ name, type, nullable, sql });

export const ENTITY_SETS: readonly EntitySet[] = [
  {
    name: 'BudgetPlans',
    typeName: 'BudgetPlan',
    properties: [p('Id', 'Edm.Guid', 'bp.id'), p('Name', 'Edm.String', 'bp.name'), p('FiscalYear', 'Edm.Int32', 'bp.fiscal_year'), p('Status', 'Edm.String', 'bp.status::text')],
    key: ['Id'],
    tiebreak: [{ sql: 'bp.id', type: 'Edm.Guid' }],
    defaultOrder: [{ sql: 'bp.fiscal_year', type: 'Edm.Int32' }],
    from: 'budget_plan bp',
    unitIdSql: null,
    // Plans hold no figures: whoever may read some unit may list them all (as `budgetPlans` answers).
    scopeOf: (viewer) => (canReadPlans(viewer) ? { kind: 'all' } : { kind: 'none' }),
  },
  {
    name: 'BusinessUnits',
    typeName: 'BusinessUnit',
    properties: [p('Code', 'Edm.String', 'bu.code'), p('Name', 'Edm.String', 'bu.name')],
    key: ['Code'],
    tiebreak: [{ sql: 'bu.code', type: 'Edm.String' }],
    from: 'business_unit bu',
    unitIdSql: 'bu.id',
    scopeOf: (viewer) => unitScope(readableUnits(viewer)),
  },
  {
    name: 'BudgetLines',
    typeName: 'BudgetLine',
    properties: [
      p('Id', 'Edm.Guid', 'l.id'),
      p('PlanId', 'Edm.Guid', 'l.plan_id'),
      p('PlanName', 'Edm.String', 'bp.name'),
      p('FiscalYear', 'Edm.Int32', 'bp.fiscal_year'),
      p('BusinessUnitCode', 'Edm.String', 'bu.code'),
      p('BusinessUnitName', 'Edm.String', 'bu.name'),
      p('ProductCategory', 'Edm.String', 'l.product_category'),
      p('Region', 'Edm.String', 'l.region'),
      p('Quarter', 'Edm.String', 'l.quarter'),
      p('PriorYearActual', 'Edm.Double', 'l.prior_year_actual', true),
      p('BudgetAmount', 'Edm.Double', 'l.budget_amount', true),
      p('ForecastSales', 'Edm.Double', 'l.forecast_sales', true),
      p('Comment', 'Edm.String', 'l.comment'),
      p('Version', 'Edm.Int32', 'l.version'),
      p('UpdatedAt', 'Edm.DateTimeOffset', 'l.updated_at'),
      p('UpdatedBy', 'Edm.String', 'ua.email', true),
    ],
    key: ['Id'],
    tiebreak: [{ sql: 'l.id', type: 'Edm.Guid' }],
    // Plan by plan, unit by unit, each unit's lines in the grid's order (category, region, quarter: `position`,
    // budget/planLayout.ts). The index on (plan_id, business_unit_id, position) serves it, so a page is an index
    // range rather than a sort of every line. Units come in the order of their ids, not their codes: ordering by
    // code would sort the whole set on every page.
    defaultOrder: [
      { sql: 'l.plan_id', type: 'Edm.Guid' },
      { sql: 'l.business_unit_id', type: 'Edm.Guid' },
      { sql: 'l.position', type: 'Edm.Int32' },
    ],
    from: `budget_line l
      JOIN budget_plan bp ON bp.id = l.plan_id
      JOIN business_unit bu ON bu.id = l.business_unit_id
      LEFT JOIN app_user ua ON ua.id = l.updated_by_id`,
    unitIdSql: 'l.business_unit_id',
    scopeOf: (viewer) => unitScope(readableUnits(viewer)),
  },
  {
    name: 'BudgetSubmissions',
    typeName: 'BudgetSubmission',
    properties: [
      p('PlanId', 'Edm.Guid', 's.plan_id'),
      p('BusinessUnitCode', 'Edm.String', 'bu.code'),
      p('Status', 'Edm.String', 's.status::text'),
      // How many times the unit was submitted in the plan (BudgetSubmission.version; submissionVersions has each).
      p('Version', 'Edm.Int32', 's.version'),
      p('SubmittedAt', 'Edm.DateTimeOffset', 's.submitted_at', true),
      p('SubmittedBy', 'Edm.String', 'sa.email', true),
      // The finance review of the current version (cleared when it is submitted again or reopened).
      p('ReviewedAt', 'Edm.DateTimeOffset', 's.reviewed_at', true),
      p('ReviewComment', 'Edm.String', 's.review_comment', true),
    ],
    key: ['PlanId', 'BusinessUnitCode'],
    tiebreak: [{ sql: 's.id', type: 'Edm.Guid' }],
    from: `budget_submission s
      JOIN business_unit bu ON bu.id = s.business_unit_id
      LEFT JOIN app_user sa ON sa.id = s.submitted_by_id`,
    unitIdSql: 's.business_unit_id',
    scopeOf: (viewer) => unitScope(readableUnits(viewer)),
  },
  {
    name: 'CellChanges',
    typeName: 'CellChange',
    properties: [
      p('Id', 'Edm.Int64', 'c.id'),
      p('LineId', 'Edm.Guid', 'c.line_id'),
      // A removed line's history stays readable: its plan comes from removed_budget_line.
      p('PlanId', 'Edm.Guid', 'coalesce(cl.plan_id, cr.plan_id)', true),
      p('BusinessUnitCode', 'Edm.String', 'bu.code'),
      p('Column', 'Edm.String', 'c.column_name'),
      p('OldValue', 'Edm.String', 'c.old_value', true),
      p('NewValue', 'Edm.String', 'c.new_value', true),
      p('UserEmail', 'Edm.String', 'cu.email', true),
      p('Source', 'Edm.String', 'c.source::text'),
      p('At', 'Edm.DateTimeOffset', 'c.at'),
    ],
    key: ['Id'],
    tiebreak: [{ sql: 'c.id', type: 'Edm.Int64' }],
    from: `cell_change c
      JOIN business_unit bu ON bu.id = c.business_unit_id
      LEFT JOIN budget_line cl ON cl.id = c.line_id
      LEFT JOIN removed_budget_line cr ON cr.id = c.line_id
      LEFT JOIN app_user cu ON cu.id = c.user_id`,
    unitIdSql: 'c.business_unit_id',
    scopeOf: (viewer) => unitScope(readableCellChanges(viewer)),
  },
];

export function entitySet(name: string): EntitySet | undefined {
  return ENTITY_SETS.find((s) => s.name === name);
}

/** The SQL that reads a property's value as it is sent (timestamps as ISO text). */
export function outputSql(property: Property): string {
  return property.type === 'Edm.DateTimeOffset' ? isoText(property.sql) : property.sql;
}

/** The SQL type of a value of this EDM type (what a paging parameter, read back as text, is cast to). */
export function sqlTypeOf(type: EdmType): string {
  switch (type) {
    case 'Edm.Guid':
      return 'uuid';
    case 'Edm.String':
      return 'text';
    case 'Edm.Int32':
      return 'int4';
    case 'Edm.Int64':
      return 'int8';
    case 'Edm.Double':
      return 'float8';
    case 'Edm.DateTimeOffset':
      return 'timestamptz';
  }
}
