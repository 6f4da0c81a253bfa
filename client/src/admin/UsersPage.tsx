/** Placeholder until this view is built. */
export function UsersPage() {
  return <section className="panel"><h1>Users</h1><p className="muted">Coming soon.</p></section>;
}
