/** Placeholder until this view is built. */
export function WorkflowsPage() {
  return <section className="panel"><h1>Workflows</h1><p className="muted">Coming soon.</p></section>;
}
