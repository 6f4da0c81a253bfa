export function GridPage() {
  return <section className="panel"><h1>Budget grid</h1></section>;
}
