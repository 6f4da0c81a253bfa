/** Placeholder until this view is built. */
export function AuditLogPage() {
  return <section className="panel"><h1>AuditLog</h1><p className="muted">Coming soon.</p></section>;
}
