/**
 * Plans and business units (`/admin/plans`, admins): the plans with their status, a new plan (empty, or a
 * copy of another with last year's budget as prior-year actuals or with all its values), renaming one, closing and
 * reopening a plan after a confirmation (closing makes it read-only for everyone at once), new units and renaming
 * them, and a plan's lines, unit by unit (PlanLines.tsx: adding lines, removing them after a confirmation), and, when the
 * server has a Power BI semantic model for it, loading an open plan's prior-year actuals (PriorYearActuals.tsx).
 * What each action may do is the server's to decide; its refusals are shown as it words them.
 */
import { useState, type FormEvent } from 'react';
import { ConfirmDialog, Modal } from '../common/Dialogs';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  CreateBudgetPlanDocument,
  CreateBusinessUnitDocument,
  PlanAdminDocument,
  PlanCloseCheckDocument,
  PriorYearActualsSourceDocument,
  RenameBudgetPlanDocument,
  RenameBusinessUnitDocument,
  SetBudgetPlanStatusDocument,
  type PlanAdminQuery,
} from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime } from '../common/format';
import { Notices, useNotices } from '../common/Notices';
import { ErrorMessage, Loading } from '../common/Status';
import { PlanLines } from './PlanLines';
import { PriorYearActualsDialog } from './PriorYearActuals';

type Plan = PlanAdminQuery['budgetPlans'][number];
type Unit = PlanAdminQuery['businessUnits'][number];
type CarryOver = 'NONE' | 'BUDGET_AS_PRIOR_YEAR' | 'VALUES';

const CARRY_OVER: Record<CarryOver, string> = {
  NONE: 'Structure only (empty values)',
  BUDGET_AS_PRIOR_YEAR: "Its budget as this plan's prior-year actuals",
  VALUES: 'All its values (budget, forecast, comments)',
};

function StatusDialog({ plan, busy, problem, onConfirm, onCancel }: {
  plan: Plan; busy: boolean; problem: ProblemInfo | null; onConfirm: () => void; onCancel: () => void;
}) {
  const closing = plan.status === 'OPEN';
  // A closed plan takes no review decision: the units still under review wait for it to be reopened. Said before
  // closing, so that a controller does not close the year with reviews nobody can finish.
  const check = useQuery(PlanCloseCheckDocument, { variables: { planId: plan.id }, skip: !closing, fetchPolicy: 'network-only' });
  const waiting = (check.data?.budgetSubmissions ?? []).filter((s) => s.status === 'SUBMITTED');
  return (
    <ConfirmDialog title={closing ? `Close ${plan.name}?` : `Reopen ${plan.name}?`} problem={problem} busy={busy}
      confirmLabel={closing ? 'Close plan' : 'Reopen plan'} busyLabel="Saving…" onConfirm={onConfirm} onCancel={onCancel}>
      <p>
        {closing
          ? 'Nobody can change its figures any more, in the grid or over the API, until it is reopened. Open grids turn read-only at once.'
          : 'Its units can be edited again where their submission allows it.'}
      </p>
      {waiting.length > 0 && (
        <p className="form-problem" data-testid="close-waiting-reviews">
          {waiting.length === 1 ? '1 unit is' : `${waiting.length} units are`} still waiting for Finance&apos;s review (
          {waiting.slice(0, 5).map((s) => s.businessUnit.name).join(', ')}{waiting.length > 5 ? ', …' : ''}): while the plan is
          closed {waiting.length === 1 ? 'it' : 'they'} can be neither approved nor rejected, nor withdrawn.
        </p>
      )}
    </ConfirmDialog>
  );
}

/**
 * A new name for a plan or a unit. The server decides what is allowed (a plan's name unique without regard to
 * case, no control characters) and says so in its refusal, shown here.
 */
function RenameDialog({ what, current, note, save, onDone, onCancel }: {
  what: string; current: string; note: string; save: (name: string) => Promise<string | undefined>; onDone: (name: string) => void; onCancel: () => void;
}) {
  const [draft, setDraft] = useState(current);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setSaving(true);
    try {
      onDone((await save(draft)) ?? draft.trim());
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setSaving(false);
    }
  };
  return (
    <Modal title={`Rename ${current}`} onCancel={() => (saving ? undefined : onCancel())}>
      <form className="stacked-form" aria-label={`Rename ${current}`} onSubmit={(e) => void submit(e)}>
        <label>
          New name
          <input value={draft} maxLength={200} onChange={(e) => setDraft(e.target.value)} autoFocus aria-invalid={problem ? true : undefined} />
        </label>
        <p className="small muted">{note}</p>
        {problem && <div className="form-problem" role="alert">{problem.message}</div>}
        <div className="form-actions">
          <button type="submit" disabled={saving || draft.trim() === '' || draft.trim() === current}>{saving ? 'Saving…' : `Rename ${what}`}</button>
          <button type="button" className="secondary" onClick={onCancel} disabled={saving}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}

function NewPlanForm({ plans, onCreated }: { plans: readonly Plan[]; onCreated: (plan: Plan) => void }) {
  const latest = plans.reduce<Plan | undefined>((best, p) => (!best || p.fiscalYear > best.fiscalYear ? p : best), undefined);
  const year = (latest?.fiscalYear ?? new Date().getFullYear()) + 1;
  const [name, setName] = useState(`FY${year} Budget`);
  const [fiscalYear, setFiscalYear] = useState(String(year));
  const [copyFrom, setCopyFrom] = useState(latest?.id ?? '');
  const [carryOver, setCarryOver] = useState<CarryOver>('BUDGET_AS_PRIOR_YEAR');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [create, { loading }] = useMutation(CreateBudgetPlanDocument, { refetchQueries: [PlanAdminDocument], awaitRefetchQueries: true });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const input = { name: name.trim(), fiscalYear: Number(fiscalYear), copyFromPlanId: copyFrom || null, carryOver: copyFrom ? carryOver : 'NONE' as CarryOver };
      const { data } = await create({ variables: { input } });
      if (data) onCreated(data.createBudgetPlan);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form className="stacked-form" aria-label="New plan" onSubmit={submit}>
      <h2>New plan</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </label>
      <label>
        Fiscal year
        <input type="number" value={fiscalYear} onChange={(e) => setFiscalYear(e.target.value)} required min={2000} max={2100} />
      </label>
      <label>
        Start from
        <select value={copyFrom} onChange={(e) => setCopyFrom(e.target.value)}>
          <option value="">Every unit, category, region and quarter, empty</option>
          {plans.map((p) => <option key={p.id} value={p.id}>A copy of {p.name}</option>)}
        </select>
      </label>
      {copyFrom && (
        <fieldset>
          <legend>Carry over</legend>
          {(Object.keys(CARRY_OVER) as CarryOver[]).map((value) => (
            <label key={value} className="choice">
              <input type="radio" name="carryOver" value={value} checked={carryOver === value} onChange={() => setCarryOver(value)} />
              {CARRY_OVER[value]}
            </label>
          ))}
        </fieldset>
      )}
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create plan'}</button>
      </div>
    </form>
  );
}

function NewUnitForm({ onCreated }: { onCreated: (name: string) => void }) {
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [create, { loading }] = useMutation(CreateBusinessUnitDocument, { refetchQueries: [PlanAdminDocument], awaitRefetchQueries: true });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await create({ variables: { code: code.trim(), name: name.trim() } });
      onCreated(name.trim());
      setCode('');
      setName('');
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form className="stacked-form" aria-label="New business unit" onSubmit={submit}>
      <h2>New business unit</h2>
      <label>
        Code
        <input value={code} onChange={(e) => setCode(e.target.value.toUpperCase())} required pattern="[A-Z][A-Z0-9_]{1,31}" placeholder="RESEARCH" title="Capital letters, digits and _, starting with a letter" />
      </label>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} placeholder="Research" />
      </label>
      <p className="small muted">It gets a draft submission in every open plan; add its lines to a plan to budget it.</p>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create unit'}</button>
      </div>
    </form>
  );
}

export function PlansPage() {
  const query = useQuery(PlanAdminDocument, { fetchPolicy: 'cache-and-network' });
  const { notices, notify, dismiss } = useNotices();
  const [confirming, setConfirming] = useState<Plan | null>(null);
  const [renaming, setRenaming] = useState<Plan | null>(null);
  const [renamingUnit, setRenamingUnit] = useState<Unit | null>(null);
  const [renamePlan] = useMutation(RenameBudgetPlanDocument);
  const [renameUnit] = useMutation(RenameBusinessUnitDocument);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [setStatus, { loading }] = useMutation(SetBudgetPlanStatusDocument);
  // Not knowing (still loading, or refused) hides the action: the server refuses it then anyway.
  const actualsSource = useQuery(PriorYearActualsSourceDocument).data?.priorYearActualsSource;
  const [loadingActuals, setLoadingActuals] = useState<Plan | null>(null);
  const plans = query.data?.budgetPlans ?? [];
  const units = query.data?.businessUnits ?? [];

  const confirmStatus = async () => {
    if (!confirming) return;
    setProblem(null);
    const status = confirming.status === 'OPEN' ? 'CLOSED' : 'OPEN';
    try {
      await setStatus({ variables: { planId: confirming.id, status } });
      notify(`${confirming.name} is ${status === 'OPEN' ? 'open' : 'closed'}.`);
      setConfirming(null);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  if (query.error && !query.data) return <ErrorMessage error={query.error} retry={() => void query.refetch()} />;
  if (!query.data) return <Loading what="the plans" />;
  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Plans</h1>
      </div>
      <section className="panel" aria-labelledby="plans-title">
        <h2 id="plans-title">Budget plans</h2>
        <table className="data plans" aria-label="Budget plans">
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">Fiscal year</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {[...plans].sort((a, b) => b.fiscalYear - a.fiscalYear || a.name.localeCompare(b.name)).map((plan) => (
              <tr key={plan.id} data-plan={plan.name}>
                <td><a href={`/grid?plan=${encodeURIComponent(plan.id)}`}>{plan.name}</a></td>
                <td>{plan.fiscalYear}</td>
                <td><span className={`badge ${plan.status === 'OPEN' ? 'good' : 'neutral'}`}>{plan.status === 'OPEN' ? 'Open' : 'Closed'}</span></td>
                <td className="nowrap">{formatDateTime(plan.createdAt)}</td>
                <td>
                  <button type="button" className="secondary small" onClick={() => { setProblem(null); setConfirming(plan); }} aria-label={`${plan.status === 'OPEN' ? 'Close' : 'Reopen'} ${plan.name}`}>
                    {plan.status === 'OPEN' ? 'Close…' : 'Reopen…'}
                  </button>
                  <button type="button" className="secondary small" onClick={() => setRenaming(plan)} aria-label={`Rename ${plan.name}`}>
                    Rename…
                  </button>
                  {actualsSource?.configured && plan.status === 'OPEN' && (
                    <button type="button" className="secondary small" onClick={() => setLoadingActuals(plan)} aria-label={`Load prior-year actuals into ${plan.name}`}>
                      Load actuals…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {actualsSource && !actualsSource.configured && (
          <p className="small muted">Prior-year actuals can be loaded from a Power BI semantic model once the server has its POWERBI_ACTUALS_* settings.</p>
        )}
      </section>
      <div className="admin-columns">
        <section className="panel">
          <NewPlanForm key={plans.length} plans={plans} onCreated={(plan) => notify(`Created ${plan.name}.`)} />
        </section>
        <section className="panel">
          <NewUnitForm onCreated={(name) => notify(`Created the unit ${name}.`)} />
          <h3>Business units</h3>
          <ul className="unit-list" aria-label="Business units">
            {units.map((u) => (
              <li key={u.id}>
                <code>{u.code}</code> {u.name}{' '}
                <button type="button" className="link small" onClick={() => setRenamingUnit(u)} aria-label={`Rename ${u.name}`}>Rename…</button>
              </li>
            ))}
          </ul>
        </section>
      </div>
      <PlanLines plans={plans} units={units} onNotice={notify} />
      {confirming && <StatusDialog plan={confirming} busy={loading} problem={problem} onConfirm={() => void confirmStatus()} onCancel={() => setConfirming(null)} />}
      {renaming && (
        <RenameDialog what="plan" current={renaming.name} onCancel={() => setRenaming(null)}
          note="The plan keeps its lines, submissions and history; grids, exports and the OData feed show the new name."
          save={async (name) => (await renamePlan({ variables: { planId: renaming.id, name } })).data?.renameBudgetPlan.name}
          onDone={(name) => { notify(`${renaming.name} is now ${name}.`); setRenaming(null); }} />
      )}
      {renamingUnit && (
        <RenameDialog what="unit" current={renamingUnit.name} onCancel={() => setRenamingUnit(null)}
          note={`Its code (${renamingUnit.code}), lines, submissions, people and history stay; grids, exports and the OData feed show the new name.`}
          save={async (name) => (await renameUnit({ variables: { code: renamingUnit.code, name } })).data?.renameBusinessUnit.name}
          onDone={(name) => { notify(`${renamingUnit.name} is now ${name}.`); setRenamingUnit(null); }} />
      )}
      {loadingActuals && (
        <PriorYearActualsDialog plan={loadingActuals} onCancel={() => setLoadingActuals(null)}
          onDone={(message) => { notify(message); setLoadingActuals(null); }} />
      )}
      <Notices notices={notices} dismiss={dismiss} />
    </div>
  );
}
