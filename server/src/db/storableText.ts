/**
 * Text PostgreSQL refuses to store, so that such input is refused up front (BAD_USER_INPUT) instead of
 * failing deep inside a write: U+0000 (no `text` value can hold it, and `jsonb` refuses `\u0000`), and
 * unpaired UTF-16 surrogates (a JavaScript string may hold one; it has no UTF-8 encoding).
 */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** Why `text` cannot be stored, or null when it can. */
export function unstorableTextProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the character U+0000';
  if (UNPAIRED_SURROGATE.test(text)) return 'must be valid Unicode text (it has an unpaired surrogate)';
  return null;
}

/**
 * The first string (key or value) anywhere in a JSON-like value that cannot be stored, with where it is
 * (`a.b.0`), or null. For inputs kept as `jsonb`.
 */
export function unstorableJsonProblem(value: unknown, path = ''): { path: string; problem: string } | null {
  if (typeof value === 'string') {
    const problem = unstorableTextProblem(value);
    return problem ? { path, problem } : null;
  }
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const keyProblem = unstorableTextProblem(key);
    if (keyProblem) return { path: at, problem: `field name ${keyProblem}` };
    const found = unstorableJsonProblem(item, at);
    if (found) return found;
  }
  return null;
}

/** `text` with whatever PostgreSQL cannot store replaced by U+FFFD: for text we record but did not choose (errors). */
export function storableText(text: string): string {
  return text.replace(/\u0000|\p{Cs}/gu, '\uFFFD');
}
