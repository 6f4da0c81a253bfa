/**
 * Whether a resolver asked the policies: each entry point of policies/ (`authorize`, `can`, the list scopes)
 * notes that it was consulted in the current async context, and the root-field guard (graphql/policyGuard.ts,
 * `guardRootFields`, applied by schema.ts) runs every root field in such a context and refuses an answer given
 * without asking. A resolver that
 * forgets row-level security then fails loudly in every test that calls it, instead of leaking quietly.
 *
 * Out of scope: whether the right rule was asked (the security matrices test that), and fields reached
 * through a parent that was authorized (they inherit its check; only root fields are guarded). The root fields
 * that need no policy are named in schema.ts (`OPEN_ROOT_FIELDS`), each with its reason.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

interface Consultation {
  consulted: boolean;
}

const current = new AsyncLocalStorage<Consultation>();

/** Called by the policy entry points. Cheap outside a guarded resolver (no store: nothing to note). */
export function noteConsulted(): void {
  const consultation = current.getStore();
  if (consultation) consultation.consulted = true;
}

/**
 * Runs `resolve` in a fresh consultation and hands its result to `settle` together with whether the policies
 * were asked by then: synchronously for a plain value, when the promise settles for an async resolver.
 */
export function whileConsulting<T>(resolve: () => T, settle: (result: Awaited<T>, consulted: boolean) => Awaited<T>): T | Promise<Awaited<T>> {
  const consultation: Consultation = { consulted: false };
  const result = current.run(consultation, resolve);
  if (result instanceof Promise) return result.then((value: Awaited<T>) => settle(value, consultation.consulted));
  return settle(result as Awaited<T>, consultation.consulted);
}
