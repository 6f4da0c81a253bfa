/** Relay-style connections in the Apollo cache: a further page appended to what is shown. */

interface Connection<E extends { node: { id: string } }> {
  edges: E[];
  pageInfo: unknown;
}

/**
 * `previous` followed by the edges of `next` it does not hold yet (a node may have joined the list live
 * meanwhile), with `next`'s page info.
 */
export function appendPage<C extends Connection<{ node: { id: string } }>>(previous: C, next: C): C {
  const known = new Set(previous.edges.map((e) => e.node.id));
  return { ...previous, edges: [...previous.edges, ...next.edges.filter((e) => !known.has(e.node.id))], pageInfo: next.pageInfo };
}
