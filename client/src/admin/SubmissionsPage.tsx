/** Placeholder until this view is built. */
export function SubmissionsPage() {
  return <section className="panel"><h1>Submissions</h1><p className="muted">Coming soon.</p></section>;
}
