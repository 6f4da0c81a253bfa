/**
 * What a list query may return, one shape for every kind of row: every row, none, or the rows matching
 * `where`, the conditions a query puts in its WHERE clause (scoped at the query, never filtered after
 * fetching). The policy files build scopes (`readableUnits`, `readableUsers`, ...); queries read them.
 */
export type Scope<Where> =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'some'; readonly where: Where };

export const ALL: Scope<never> = { kind: 'all' };
export const NONE: Scope<never> = { kind: 'none' };

export function some<Where>(where: Where): Scope<Where> {
  return { kind: 'some', where };
}
