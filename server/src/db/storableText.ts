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

interface JsonNode {
  value: unknown;
  key?: string;
  parent?: JsonNode;
}

/** `a.b.0` for a node, cut short when a client nested it deep. */
function pathOf(node: JsonNode): string {
  const keys: string[] = [];
  for (let n: JsonNode | undefined = node; n?.key !== undefined; n = n.parent) keys.push(n.key);
  const path = keys.reverse().join('.');
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/**
 * The first string (key or value) anywhere in a JSON-like value that cannot be stored, with where it is
 * (`a.b.0`), or null. For inputs kept as `jsonb`. Walked without recursion, paths built only for a problem:
 * a client chooses the depth.
 */
export function unstorableJsonProblem(value: unknown): { path: string; problem: string } | null {
  const stack: JsonNode[] = [{ value }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node.value === 'string') {
      const problem = unstorableTextProblem(node.value);
      if (problem) return { path: pathOf(node), problem };
      continue;
    }
    if (typeof node.value !== 'object' || node.value === null) continue;
    const object = node.value as Record<string, unknown>;
    const keys = Object.keys(object);
    // Pushed in reverse, so that values are looked at in reading order.
    for (let i = keys.length - 1; i >= 0; i--) {
      const child: JsonNode = { value: object[keys[i]], key: keys[i], parent: node };
      const keyProblem = unstorableTextProblem(keys[i]);
      if (keyProblem) return { path: pathOf(child), problem: `field name ${keyProblem}` };
      stack.push(child);
    }
  }
  return null;
}

/** `text` with whatever PostgreSQL cannot store replaced by U+FFFD: for text we record but did not choose (errors). */
export function storableText(text: string): string {
  return text.replace(/\u0000|\p{Cs}/gu, '\uFFFD');
}
