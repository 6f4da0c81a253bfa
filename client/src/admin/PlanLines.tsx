/**
 * The lines of a plan, one unit at a time, on the plans page (admins): the unit's lines, adding one line or a
 * category and region with its four quarters, and removing the lines selected after a confirmation that says how
 * many go and that their audit history stays. Open grids follow both at once (the server tells them). What may
 * be added or removed is the server's to decide (a closed plan, a submitted unit, a line that exists); its
 * refusals are shown as it words them.
 */
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useFreshRefetch } from '../common/freshRefetch';
import { ConfirmDialog } from '../common/Dialogs';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { AddBudgetLinesDocument, PlanLinesChangedDocument, PlanLinesDocument, RemoveBudgetLinesDocument, type PlanAdminQuery } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatAmount } from '../grid/cells';
import { ErrorMessage, Loading } from '../common/Status';

type Plan = PlanAdminQuery['budgetPlans'][number];
type Unit = PlanAdminQuery['businessUnits'][number];

/**
 * The plan layout's vocabulary, as the server lays plans out (server/src/budget/planLayout.ts): offered as
 * suggestions, with the unit's own. Any other category or region may be typed ("Cloud services", "India"); the
 * server says what it refuses (an empty or over-long name) in its own words.
 */
const PRODUCT_CATEGORIES = ['Laptops', 'Desktops', 'Servers', 'Storage', 'Networking', 'Software'];
const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East & Africa'];
const QUARTERS = ['Q1', 'Q2', 'Q3', 'Q4'];

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function RemoveDialog({ count, unit, plan, busy, problem, onConfirm, onCancel }: {
  count: number; unit: Unit; plan: Plan; busy: boolean; problem: ProblemInfo | null; onConfirm: () => void; onCancel: () => void;
}) {
  return (
    <ConfirmDialog title={`Remove ${plural(count, 'line')} from ${unit.name}?`} problem={problem} busy={busy} danger
      confirmLabel={`Remove ${plural(count, 'line')}`} busyLabel="Removing…" onConfirm={onConfirm} onCancel={onCancel}>
      <p>
        {count === 1 ? 'It leaves' : 'They leave'} {plan.name} and every open grid at once, with {count === 1 ? 'its' : 'their'} figures.
        {' '}{count === 1 ? 'Its' : 'Their'} audit history stays readable in the audit log.
      </p>
    </ConfirmDialog>
  );
}

/** A category or region: one of the suggestions, or a name of the team's own typed in. */
function Named({ label, value, suggestions, onChange }: { label: string; value: string; suggestions: readonly string[]; onChange: (v: string) => void }) {
  const listId = `plan-lines-${label.toLowerCase()}-${useId()}`;
  return (
    <label>
      {label}
      <input value={value} list={listId} maxLength={80} onChange={(e) => onChange(e.target.value)} autoComplete="off" />
      <datalist id={listId}>
        {suggestions.map((c) => <option key={c} value={c} />)}
      </datalist>
    </label>
  );
}

function Choice({ label, value, choices, onChange }: { label: string; value: string; choices: readonly string[]; onChange: (v: string) => void }) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {choices.map((c) => <option key={c}>{c}</option>)}
      </select>
    </label>
  );
}

export function PlanLines({ plans, units, onNotice }: { plans: readonly Plan[]; units: readonly Unit[]; onNotice: (text: string) => void }) {
  const latest = [...plans].sort((a, b) => b.fiscalYear - a.fiscalYear || a.name.localeCompare(b.name))[0];
  const [planId, setPlanId] = useState(latest?.id ?? '');
  const [unitCode, setUnitCode] = useState(units[0]?.code ?? '');
  const plan = plans.find((p) => p.id === planId) ?? latest;
  const unit = units.find((u) => u.code === unitCode) ?? units[0];
  const skip = !plan || !unit;
  const lines = useQuery(PlanLinesDocument, { variables: { planId: plan?.id ?? '', unit: unit?.code ?? '' }, skip, fetchPolicy: 'cache-and-network' });
  const rows = useMemo(() => lines.data?.budgetLines ?? [], [lines.data]);
  // Another admin's additions and removals show here too, as in the grids.
  const linesChanged = useFreshRefetch(lines.observable, lines.loading);
  useSubscription(PlanLinesChangedDocument, { variables: { planId: plan?.id ?? '', unit: unit?.code ?? '' }, skip, onData: () => void linesChanged() });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [removeProblem, setRemoveProblem] = useState<ProblemInfo | null>(null);
  const [one, setOne] = useState({ productCategory: PRODUCT_CATEGORIES[0], region: REGIONS[0], quarter: QUARTERS[0], priorYearActual: '' });
  const [group, setGroup] = useState({ productCategory: PRODUCT_CATEGORIES[0], region: REGIONS[0] });
  const [addLines, adding] = useMutation(AddBudgetLinesDocument);
  const [removeLines, removing] = useMutation(RemoveBudgetLinesDocument);

  // The first category, region and quarter the unit lacks (null: it has every one, or its lines are not read yet).
  const firstMissing = useMemo(() => {
    if (!lines.data) return null;
    const present = new Set(rows.map((r) => `${r.productCategory}|${r.region}|${r.quarter}`));
    for (const productCategory of PRODUCT_CATEGORIES) {
      for (const region of REGIONS) {
        for (const quarter of QUARTERS) if (!present.has(`${productCategory}|${region}|${quarter}`)) return { productCategory, region, quarter };
      }
    }
    return null;
  }, [lines.data, rows]);
  const complete = !!lines.data && firstMissing === null;
  // The layout's names, then the plan's own ones this unit has.
  const categories = useMemo(() => [...new Set([...PRODUCT_CATEGORIES, ...rows.map((r) => r.productCategory)])], [rows]);
  const regions = useMemo(() => [...new Set([...REGIONS, ...rows.map((r) => r.region)])], [rows]);
  // Once per plan and unit, when its lines are read: both forms start at what the unit lacks, rather than at a
  // combination it has (the first one always, in a full plan), which could only be refused.
  const [startedFor, setStartedFor] = useState('');
  useEffect(() => {
    const key = `${plan?.id}/${unit?.code}`;
    if (!lines.data || startedFor === key) return;
    setStartedFor(key);
    if (!firstMissing) {
      // Every combination of the layout is there: what is left to add is a name of the team's own, typed in.
      setGroup({ productCategory: '', region: '' });
      setOne((o) => ({ ...o, productCategory: '', region: '' }));
      return;
    }
    setGroup({ productCategory: firstMissing.productCategory, region: firstMissing.region });
    setOne((o) => ({ ...o, ...firstMissing }));
  }, [lines.data, firstMissing, plan?.id, unit?.code, startedFor]);

  // Another plan or unit: a fresh selection (ids of other lines mean nothing here), and no stale refusal.
  useEffect(() => {
    setSelected(new Set());
    setProblem(null);
  }, [plan?.id, unit?.code]);
  // Lines that went (removed here or elsewhere) leave the selection.
  useEffect(() => setSelected((s) => new Set([...s].filter((id) => rows.some((r) => r.id === id)))), [rows]);

  if (!plan || !unit) return <p className="muted">There is no plan or business unit yet.</p>;

  const refetch = linesChanged;
  const add = async (newLines: { productCategory: string; region: string; quarter: string; priorYearActual?: number | null }[], what: string) => {
    setProblem(null);
    try {
      await addLines({ variables: { planId: plan.id, lines: newLines.map((l) => ({ businessUnitCode: unit.code, ...l })) } });
      await refetch();
      onNotice(`Added ${what} to ${unit.name} in ${plan.name}.`);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  const addOne = (event: FormEvent) => {
    event.preventDefault();
    const prior = one.priorYearActual.trim();
    const priorYearActual = prior === '' ? null : Number(prior.replace(/,/g, ''));
    if (priorYearActual !== null && !Number.isFinite(priorYearActual)) return setProblem({ message: 'The prior-year actual must be a number.' });
    const [productCategory, region] = [one.productCategory.trim(), one.region.trim()];
    if (!productCategory || !region) return setProblem({ message: 'Type or pick a category and a region.' });
    void add([{ productCategory, region, quarter: one.quarter, priorYearActual }], `${productCategory}, ${region}, ${one.quarter}`);
  };

  // The quarters the unit lacks for that category and region: adding those only, so that a partly present
  // group is completed rather than refused as existing.
  // As the server stores them: trimmed.
  const groupNamed = { productCategory: group.productCategory.trim(), region: group.region.trim() };
  const missingQuarters = QUARTERS.filter((q) => !rows.some((r) => r.productCategory === groupNamed.productCategory && r.region === groupNamed.region && r.quarter === q));
  const addGroup = (event: FormEvent) => {
    event.preventDefault();
    if (!groupNamed.productCategory || !groupNamed.region) return setProblem({ message: 'Type or pick a category and a region.' });
    if (missingQuarters.length === 0) return setProblem({ message: `${unit.name} already has ${groupNamed.productCategory}, ${groupNamed.region} in every quarter.` });
    void add(missingQuarters.map((quarter) => ({ ...groupNamed, quarter })), `${groupNamed.productCategory}, ${groupNamed.region} (${missingQuarters.join(', ')})`);
  };

  const confirmRemove = async () => {
    setRemoveProblem(null);
    try {
      const { data } = await removeLines({ variables: { ids: [...selected] } });
      await refetch();
      setConfirming(false);
      onNotice(`Removed ${plural(data?.removeBudgetLines ?? 0, 'line')} from ${unit.name}.`);
    } catch (error) {
      setRemoveProblem(problemOf(error));
    }
  };

  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const toggle = (id: string) => setSelected((s) => {
    const next = new Set(s);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });

  return (
    <section className="panel plan-lines" aria-labelledby="plan-lines-title">
      <div className="lines-head">
        <h2 id="plan-lines-title">Plan lines</h2>
        <label>
          Plan
          <select value={plan.id} onChange={(e) => setPlanId(e.target.value)} aria-label="Plan of the lines">
            {plans.map((p) => <option key={p.id} value={p.id}>{p.name}{p.status === 'CLOSED' ? ' (closed)' : ''}</option>)}
          </select>
        </label>
        <label>
          Business unit
          <select value={unit.code} onChange={(e) => setUnitCode(e.target.value)} aria-label="Business unit of the lines">
            {units.map((u) => <option key={u.code} value={u.code}>{u.name}</option>)}
          </select>
        </label>
        <span className="spacer" />
        <span className="muted small" data-testid="line-count">{plural(rows.length, 'line')}</span>
        <button type="button" className="danger" disabled={selected.size === 0} onClick={() => { setRemoveProblem(null); setConfirming(true); }}>
          Remove selected{selected.size > 0 ? ` (${selected.size})` : ''}…
        </button>
      </div>
      {plan.status === 'CLOSED' && <p className="banner warn">{plan.name} is closed: its lines cannot change until it is reopened.</p>}
      <div className="lines-columns">
        <div className="lines-table">
          {lines.error && !lines.data ? (
            <ErrorMessage error={lines.error} retry={() => void refetch()} />
          ) : !lines.data ? (
            <Loading what="the lines" />
          ) : rows.length === 0 ? (
            <p className="empty muted">{unit.name} has no lines in {plan.name} yet: add them on the right.</p>
          ) : (
            <table className="data" aria-label={`Lines of ${unit.name}`}>
              <thead>
                <tr>
                  <th scope="col" className="select">
                    <input type="checkbox" aria-label="Select every line" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.id)))} />
                  </th>
                  <th scope="col">Category</th>
                  <th scope="col">Region</th>
                  <th scope="col">Quarter</th>
                  <th scope="col" className="num">Prior year</th>
                  <th scope="col" className="num">Budget</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id} className={selected.has(r.id) ? 'selected' : undefined}>
                    <td className="select">
                      <input type="checkbox" checked={selected.has(r.id)} onChange={() => toggle(r.id)} aria-label={`Select ${r.productCategory}, ${r.region}, ${r.quarter}`} />
                    </td>
                    <td>{r.productCategory}</td>
                    <td>{r.region}</td>
                    <td>{r.quarter}</td>
                    <td className="num">{formatAmount(r.priorYearActual)}</td>
                    <td className="num">{formatAmount(r.budgetAmount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className="lines-forms">
          {complete && (
            <p className="small muted" data-testid="lines-complete">
              {unit.name} has every category and region of the layout in all four quarters of {plan.name}: type a
              category or region of your own to add more.
            </p>
          )}
          <form className="stacked-form" aria-label="Add a category and region" onSubmit={addGroup}>
            <h3>Add a category and region</h3>
            <p className="small muted">All four quarters, for {unit.name}{missingQuarters.length > 0 && missingQuarters.length < 4 ? ` (the missing ${missingQuarters.join(', ')})` : ''}.</p>
            <Named label="Category" value={group.productCategory} suggestions={categories} onChange={(productCategory) => setGroup({ ...group, productCategory })} />
            <Named label="Region" value={group.region} suggestions={regions} onChange={(region) => setGroup({ ...group, region })} />
            <div className="form-actions">
              <button type="submit" disabled={adding.loading}>Add its quarters</button>
            </div>
          </form>
          <form className="stacked-form" aria-label="Add a line" onSubmit={addOne}>
            <h3>Add one line</h3>
            <Named label="Category" value={one.productCategory} suggestions={categories} onChange={(productCategory) => setOne({ ...one, productCategory })} />
            <Named label="Region" value={one.region} suggestions={regions} onChange={(region) => setOne({ ...one, region })} />
            <Choice label="Quarter" value={one.quarter} choices={QUARTERS} onChange={(quarter) => setOne({ ...one, quarter })} />
            <label>
              Prior-year actual (optional)
              <input inputMode="decimal" value={one.priorYearActual} onChange={(e) => setOne({ ...one, priorYearActual: e.target.value })} placeholder="e.g. 125000" />
            </label>
            <div className="form-actions">
              <button type="submit" disabled={adding.loading}>{adding.loading ? 'Adding…' : 'Add line'}</button>
            </div>
          </form>
          {problem && <div className="form-problem" role="alert" data-testid="lines-problem">{problem.message}</div>}
        </div>
      </div>
      {confirming && (
        <RemoveDialog count={selected.size} unit={unit} plan={plan} busy={removing.loading} problem={removeProblem} onConfirm={() => void confirmRemove()} onCancel={() => setConfirming(false)} />
      )}
    </section>
  );
}
