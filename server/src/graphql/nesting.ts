/**
 * How deep client JSON nests, measured without recursion. Recursive code meets any value a client sends:
 * type-graphql converting a JSON argument, JSON.stringify of subscription variables or of a ping's payload
 * echoed back; 5,000 nested arrays (10 KB) overflow the stack there, and the RangeError came back as an
 * internal error (HTTP) or closed the socket with CloseCode.InternalServerError (graphql-ws). Values nesting
 * deeper than LIMITS.maxJsonDepth are refused before any of that runs.
 *
 * Out of scope: size (the body and frame limits bound it).
 */

/** True when `value` (parsed JSON) nests objects and arrays more than `max` levels deep. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** True when JSON `text` opens more than `max` objects and arrays inside each other (strings skipped). */
export function textNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
