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

/**
 * Characters no export of ours writes (C0 controls but tab and line breaks, U+FFFE, U+FFFF, unpaired surrogates):
 * XML 1.0 does not allow them (an xlsx holding one is a workbook Excel "repairs" and our import refuses), and the
 * rules refuse them in new comments and dimensions (budget/columns.ts, budget/planLines.ts). Text stored before
 * those rules, or in a name no rule covers, may still hold them.
 */
const NOT_EXPORTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu;

/**
 * `text` as every export writes it (xlsx, CSV, the OData feed): the characters above as U+FFFD, the replacement
 * character, the rest as it is. One rule for all, so a stored text reads the same in each, and an untouched export
 * imported back is not refused for a character nobody can see.
 */
export function exportableText(text: string): string;
export function exportableText(text: string | null): string | null;
export function exportableText(text: string | null): string | null {
  return text === null ? null : text.replace(NOT_EXPORTABLE, '\uFFFD');
}
