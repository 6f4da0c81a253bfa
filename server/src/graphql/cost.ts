/**
 * What an operation may cost, computed with its variables: `auditLog(first: $n)` costs as many rows as `$n`
 * asks for, and a list without `first` (`budgetLines`) as many rows as it can return. A validation rule sees
 * the document only (graphql-armor's cost rule counted `first: $n` as one row: 1.1 M accepted under a 40 k cap),
 * so the check runs once the variables are known: in an Apollo plugin for HTTP and in graphql-ws's
 * `onSubscribe`, with the same function and limit.
 *
 * The formula is graphql-armor's: a scalar costs 1, an object 2 plus 1.5 x its selections (so each level of
 * nesting weighs 1.5 times more), and a field's whole cost is multiplied by its row count. Fragments count as
 * the selections they stand for. Out of scope: what a resolver does beyond its rows (that is its own limit).
 */
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isInputType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  typeFromAST,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode } from '../errors.js';

const SCALAR_COST = 1;
const OBJECT_COST = 2;
const DEPTH_FACTOR = 1.5;

/**
 * Rows a list field returns, when no `first` says: `Type.field` -> rows (or a function of the field's
 * arguments). Numbers are what the largest real answer holds, rounded up; a list not named here counts
 * `DEFAULT_LIST_ROWS`.
 */
const LIST_ROWS: Record<string, number | ((args: Record<string, unknown>) => number)> = {
  // 6 categories x 5 regions x 4 quarters per unit, 5 units: a unit's lines, or every line of the plan.
  'Query.budgetLines': (args) => (args.businessUnitCode ? 120 : 600),
  'Query.budgetSubmissions': 10,
  'Query.businessUnits': 10,
  'Query.budgetPlans': 10,
  // budget/CellHistoryResolver.ts MAX_CELL_HISTORY: a cell's newest entries.
  'Query.cellHistory': 500,
  // Leaders and viewers belong to one unit or two; admins and analysts to none.
  'User.businessUnits': 2,
  'Organization.users': 20,
  'WorkflowExecution.steps': 10,
  'WorkflowDefinition.steps': 10,
  // A connection's edges are its page: the `first` of the field that returns the connection counts them.
  'CellChangeConnection.edges': 1,
  'WorkflowExecutionConnection.edges': 1,
  'ActivityConnection.edges': 1,
  // Counted per change sent when reached from the mutation (ROWS_PER_INPUT); through a fragment, at the most.
  'BatchUpdateResult.updated': 5000,
  'BatchUpdateResult.rejected': 5000,
};
const DEFAULT_LIST_ROWS = 20;

/**
 * The largest `first` each paged field serves (its resolver's MAX_PAGE): a larger one is refused by the
 * resolver (BAD_USER_INPUT) before it reads a row, so it costs no more than the largest page.
 */
const MAX_PAGE: Record<string, number> = {
  'Query.auditLog': 500,
  'Query.workflowExecutions': 200,
  'Query.signInEvents': 1000,
  'Query.failedSignIns': 500,
  'Query.activityLog': 500,
};
/**
 * Mutations answering one row per item of their input (`updateBudgetLines`, `restoreCells`): the rows are what the caller sent
 * (at most `max`), and each item lands in exactly one of `lists` (a change is updated or rejected), so the lists
 * together hold that many rows and cost as the costlier of them at that many rows. The result object only wraps
 * the lists, as a connection wraps its edges: it adds no level of nesting. So 5,000 changes answered with
 * `updated { id version } rejected { id code message }` cost 32,502, within the limit, while asking each updated
 * line for its nested objects costs what those objects cost 5,000 times.
 */
const ROWS_PER_INPUT: Record<string, { argument: string; max: number; lists: readonly string[] }> = {
  // budget/batchWrites.ts MAX_CHANGES_PER_CALL (a larger call is refused whole, before any row is read).
  'Mutation.updateBudgetLines': { argument: 'changes', max: 5000, lists: ['updated', 'rejected'] },
  // budget/restoreCells.ts: at most 5,000 cells, each in one line updated or rejected (a line's cells are one row).
  'Mutation.restoreCells': { argument: 'cells', max: 5000, lists: ['updated', 'rejected'] },
};

/** Rows of a paged field called without `first` and whose argument has no default (the resolvers' page). */
const DEFAULT_PAGE = 50;

/** Thrown (as a validation error, nothing executed) for an operation over `maxCost`. */
export function costError(cost: number, maxCost: number): GraphQLError {
  return new GraphQLError(`Query cost limit of ${maxCost} exceeded, found ${Math.round(cost)}.`, {
    // Apollo turns extensions.http into the status (400, as for any invalid document) and drops it.
    extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED, http: { status: 400 } },
  });
}

/**
 * The cost of a validated document: that of its costliest operation, each with `variables` as sent (a missing
 * one counts as its default). Every operation counts, not only the one to run: a document over a limit runs
 * nothing, as with any validation error.
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | null | undefined): number {
  let highest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) highest = Math.max(highest, operationCost(schema, document, definition, variables));
  }
  return highest;
}

/** The cost of one operation of a validated document, with `variables` as sent. */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // Variables as the field arguments will see them: given values, or the operation's defaults.
  const values: Record<string, unknown> = { ...(variables ?? {}) };
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    if (values[name] === undefined && definition.defaultValue && type && isInputType(type)) values[name] = valueFromAST(definition.defaultValue, type, {});
  }

  /** The cost of each fragment spread on a type (the same wherever it is spread: variables are per operation). */
  const fragmentCosts = new Map<string, number>();

  /** The selections' cost under `parent`; fragments in `spreading` are being expanded (no cycle can loop). */
  const selectionsCost = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, spreading: Set<string>): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        total += fieldCost(selection, parent, spreading);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        total += selectionsCost(selection.selectionSet, on && isCompositeType(on) ? on : parent, spreading);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || spreading.has(name)) continue;
        const on = schema.getType(fragment.typeCondition.name.value);
        const target = on && isCompositeType(on) ? on : parent;
        // Counted once per fragment and type: a fragment spread twice in each of 40 nested fragments stands for
        // 2^40 selections, and expanding them one by one blocked the process (found by the HTTP fuzzer).
        const key = `${name}\u0000${target.name}`;
        let cost = fragmentCosts.get(key);
        if (cost === undefined) {
          spreading.add(name);
          cost = selectionsCost(fragment.selectionSet, target, spreading);
          spreading.delete(name);
          fragmentCosts.set(key, cost);
        }
        total += cost;
      }
    }
    return total;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLCompositeType, spreading: Set<string>): number => {
    const name = node.name.value;
    if (name === '__schema') return 0; // introspection: bounded by the depth limit, and off in production
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!node.selectionSet) return SCALAR_COST;
    const type = field ? getNamedType(field.type) : undefined;
    const perInput = field && ROWS_PER_INPUT[`${parent.name}.${name}`];
    if (perInput && type && isObjectType(type)) {
      const given = argumentValues(field, node)[perInput.argument];
      const rows = Math.min(Array.isArray(given) ? given.length : perInput.max, perInput.max);
      return OBJECT_COST + rowsPerInputCost(node.selectionSet, type, perInput.lists, rows, spreading);
    }
    const children = selectionsCost(node.selectionSet, type && isCompositeType(type) ? type : parent, spreading);
    return (OBJECT_COST + DEPTH_FACTOR * children) * (field ? rowsOf(parent.name, field, node) : 1);
  };

  /**
   * The selections of a ROWS_PER_INPUT result: each list's row (aliases of one list add up) at `rows` rows, the
   * costlier list only; anything else selected (`__typename`, fragments) as usual.
   */
  const rowsPerInputCost = (selectionSet: SelectionSetNode, type: GraphQLCompositeType, lists: readonly string[], rows: number, spreading: Set<string>): number => {
    const perRow = new Map<string, number>();
    let others = 0;
    for (const selection of selectionSet.selections) {
      const list = selection.kind === Kind.FIELD && lists.includes(selection.name.value) ? selection.name.value : null;
      if (!list || selection.kind !== Kind.FIELD) {
        others += selectionsCost({ kind: Kind.SELECTION_SET, selections: [selection] }, type, spreading);
        continue;
      }
      const field = isObjectType(type) ? type.getFields()[list] : undefined;
      const rowType = field && getNamedType(field.type);
      const row = selection.selectionSet
        ? OBJECT_COST + DEPTH_FACTOR * selectionsCost(selection.selectionSet, rowType && isCompositeType(rowType) ? rowType : type, spreading)
        : SCALAR_COST;
      perRow.set(list, (perRow.get(list) ?? 0) + row);
    }
    return others + rows * Math.max(0, ...perRow.values());
  };

  /** How many rows a field returns: its `first`/`last`, else its list estimate, else 1. */
  const rowsOf = (parentName: string, field: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    const args = argumentValues(field, node);
    const paged = field.args.find((a) => a.name === 'first' || a.name === 'last');
    if (paged) {
      const value = args[paged.name];
      const rows = typeof value === 'number' && Number.isFinite(value) ? Math.max(1, value) : DEFAULT_PAGE;
      return Math.min(rows, MAX_PAGE[`${parentName}.${field.name}`] ?? Infinity);
    }
    if (!isListType(getNullableType(field.type))) return 1;
    const rows = LIST_ROWS[`${parentName}.${field.name}`] ?? DEFAULT_LIST_ROWS;
    return typeof rows === 'function' ? rows(args) : rows;
  };

  /** A field's arguments with variables in: given, else the argument's default. */
  const argumentValues = (field: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    for (const arg of field.args) {
      const given = node.arguments?.find((a) => a.name.value === arg.name);
      let value: unknown = given ? valueFromAST(given.value, arg.type, values) : undefined;
      // An invalid value (a string for an Int) comes back undefined; execution refuses it anyway.
      if (value === undefined && given?.value.kind === Kind.VARIABLE) value = values[given.value.name.value];
      result[arg.name] = value ?? arg.defaultValue;
    }
    return result;
  };

  return selectionsCost(operation.selectionSet, root, new Set());
}
