/**
 * "Load prior-year actuals" on the Plans page (admins): the plan's priorYearActual from the Power BI semantic
 * model the server is configured with. The dialog first runs the load as a dry run and shows what it would do
 * (lines that change, keys that match no line, units skipped because their budget is submitted), and applies
 * it only when confirmed. The button is there only when the server has the settings; the server decides the rest
 * (a closed plan, who may do it) and its refusals are shown as it words them.
 */
import { useEffect, useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { ConfirmDialog } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { LoadPriorYearActualsDocument, PlanLinesDocument, type LoadPriorYearActualsMutation } from '../graphql/generated';

type Load = LoadPriorYearActualsMutation['loadPriorYearActuals'];

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

function Preview({ load }: { load: Load }) {
  return (
    <div className="actuals-preview" aria-label="What the load will do">
      <p>
        The query for {load.fiscalYear} returned {plural(load.rowsRead, 'row')}.{' '}
        <strong>{load.linesUpdated === 0 ? 'No line would change.' : `${plural(load.linesUpdated, 'line')} would get a new prior-year actual.`}</strong>
        {load.unchanged > 0 && ` ${plural(load.unchanged, 'line')} already ${load.unchanged === 1 ? 'has' : 'have'} it.`}
      </p>
      {load.skippedUnits.length > 0 && (
        <p>Skipped, because their budget is submitted or approved: {load.skippedUnits.join(', ')}.</p>
      )}
      {load.unmatched > 0 && (
        <>
          <p>{plural(load.unmatched, 'result key matches', 'result keys match')} no line of this plan and will not be loaded:</p>
          <ul className="small" aria-label="Unmatched">
            {load.unmatchedExamples.map((example) => <li key={example}>{example}</li>)}
            {load.unmatched > load.unmatchedExamples.length && <li>and {plural(load.unmatched - load.unmatchedExamples.length, 'more')}</li>}
          </ul>
        </>
      )}
    </div>
  );
}

export function PriorYearActualsDialog({ plan, onDone, onCancel }: {
  plan: { id: string; name: string };
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const [run] = useMutation(LoadPriorYearActualsDocument);
  const [preview, setPreview] = useState<Load | null>(null);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [busy, setBusy] = useState(true);

  const check = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const { data } = await run({ variables: { planId: plan.id, dryRun: true } });
      setPreview(data?.loadPriorYearActuals ?? null);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  // The dry run, once, when the dialog opens.
  useEffect(() => {
    void check();
  }, []);

  const apply = async () => {
    if (!preview) return void check();
    setBusy(true);
    setProblem(null);
    try {
      // The Plans page's own list of lines shows prior-year actuals too; it follows no live event.
      const { data } = await run({ variables: { planId: plan.id, dryRun: false }, refetchQueries: [PlanLinesDocument], awaitRefetchQueries: true });
      const load = data!.loadPriorYearActuals;
      onDone(`Loaded prior-year actuals into ${plan.name}: ${plural(load.linesUpdated, 'line')} updated.`);
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  };

  return (
    <ConfirmDialog title={`Load prior-year actuals into ${plan.name}?`} problem={problem} busy={busy}
      confirmLabel={preview ? 'Load actuals' : 'Try again'} busyLabel={preview ? 'Loading…' : 'Checking…'}
      onConfirm={() => void apply()} onCancel={onCancel}>
      <p className="small muted">From the Power BI semantic model set up on the server. Every change is in the audit log; open grids show it at once.</p>
      {preview ? <Preview load={preview} /> : busy && <p role="status">Asking Power BI what it would load…</p>}
    </ConfirmDialog>
  );
}
