/**
 * Import of an edited export into the plan: the person picks (or drops) a .csv or .xlsx file, the server judges
 * it without applying anything (dry run) and the dialog shows what would change and every refused cell with its
 * row, column and reason; only "Apply" changes values. The applied cells reach the open grid through its own
 * connection (the server writes them and the document follows), so nothing is redrawn here.
 *
 * An applied import is one step to undo, from the same dialog ("Undo this import"): the server applies an import
 * through its write path (each cell audited with source IMPORT), not through this browser's undo manager, and
 * lists the cells it changed; the undo sets them back with restoreCells (audited RESTORE: each cell back to the
 * value before its latest change, the import's) at the versions the import left, so a line somebody changed since
 * is kept and said so, never overwritten.
 */
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { useMutation } from '@apollo/client/react';
import { Modal } from '../common/Dialogs';
import { UndoImportDocument, type RestoreCellInput } from '../graphql/generated';
import { formatDateTime } from '../common/format';
import { formatOfFile, MAX_IMPORT_BYTES, SheetRequestError, uploadSheet, type AppliedCell, type ImportOutcome } from './spreadsheetHttp';

/** restoreCells takes at most this many cells a call. */
const CELLS_PER_CALL = 5000;

/**
 * The import's cells to set back, at the version the import left each line, in calls of at most CELLS_PER_CALL
 * cells that never split a line: its cells go at one version, and a second call would find it changed by the first.
 */
export function undoCalls(cells: readonly AppliedCell[]): RestoreCellInput[][] {
  const byLine = new Map<string, RestoreCellInput[]>();
  for (const cell of cells) {
    const line = byLine.get(cell.lineId) ?? [];
    line.push({ lineId: cell.lineId, column: cell.column, expectedVersion: cell.version });
    byLine.set(cell.lineId, line);
  }
  const calls: RestoreCellInput[][] = [];
  let call: RestoreCellInput[] = [];
  for (const line of byLine.values()) {
    if (call.length + line.length > CELLS_PER_CALL) {
      calls.push(call);
      call = [];
    }
    call.push(...line);
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

type Phase =
  | { name: 'choose' }
  | { name: 'checking' }
  | { name: 'preview'; outcome: ImportOutcome }
  | { name: 'applying'; preview: ImportOutcome }
  | { name: 'done'; outcome: ImportOutcome }
  | { name: 'undoing'; outcome: ImportOutcome }
  | { name: 'undone'; outcome: ImportOutcome };

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
const cells = (n: number) => `${n.toLocaleString()} ${n === 1 ? 'cell' : 'cells'}`;

/** The "Import…" button and its dialog; the page offers it to who may change the unit (its `canEdit`). */
export function SpreadsheetImport({ token, planId, planName, onNotice, onUnauthenticated }: {
  token: string;
  planId: string;
  planName: string;
  onNotice: (text: string) => void;
  onUnauthenticated: () => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="secondary"
        onClick={() => setOpen(true)}
        title="Import values from an edited export (.csv or .xlsx)"
      >
        Import…
      </button>
      {open && (
        <ImportDialog
          token={token}
          planId={planId}
          planName={planName}
          onNotice={onNotice}
          onUnauthenticated={onUnauthenticated}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}

function ImportDialog({ token, planId, planName, onNotice, onUnauthenticated, onClose }: {
  token: string;
  planId: string;
  planName: string;
  onNotice: (text: string) => void;
  onUnauthenticated: () => void;
  onClose: () => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>({ name: 'choose' });
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const upload = useRef<AbortController | null>(null);
  // Closing the dialog mid-upload stops the upload.
  useEffect(() => () => upload.current?.abort(), []);

  const busy = phase.name === 'checking' || phase.name === 'applying' || phase.name === 'undoing';
  const [undoImport] = useMutation(UndoImportDocument);

  async function send(chosen: File, dryRun: boolean): Promise<ImportOutcome | null> {
    const controller = new AbortController();
    upload.current = controller;
    setProgress({ sent: 0, total: chosen.size });
    setProblem(null);
    try {
      return await uploadSheet(token, planId, chosen, dryRun, (sent, total) => setProgress({ sent, total }), controller.signal);
    } catch (err) {
      if (controller.signal.aborted) return null;
      if (err instanceof SheetRequestError && err.unauthenticated) onUnauthenticated();
      setProblem((err as Error).message);
      return null;
    } finally {
      if (upload.current === controller) upload.current = null;
      setProgress(null);
    }
  }

  async function choose(chosen: File | undefined) {
    if (!chosen || busy) return;
    setFile(chosen);
    setPhase({ name: 'choose' });
    if (!formatOfFile(chosen.name)) return setProblem(`${chosen.name} is neither a .csv nor an .xlsx file.`);
    if (chosen.size > MAX_IMPORT_BYTES) {
      return setProblem(`${chosen.name} is ${megabytes(chosen.size)}, more than the import takes (${MAX_IMPORT_BYTES / (1024 * 1024)} MB). Split it, or leave out the lines you did not change.`);
    }
    setPhase({ name: 'checking' });
    const outcome = await send(chosen, true);
    setPhase(outcome ? { name: 'preview', outcome } : { name: 'choose' });
  }

  async function apply(preview: ImportOutcome) {
    if (!file) return;
    setPhase({ name: 'applying', preview });
    const outcome = await send(file, false);
    if (!outcome) return setPhase({ name: 'preview', outcome: preview });
    setPhase({ name: 'done', outcome });
    onNotice(`Imported ${file.name}: ${cells(outcome.applied)} changed${outcome.rejected.length ? `, ${cells(outcome.rejected.length)} refused` : ''}.`);
  }

  async function undo(outcome: ImportOutcome) {
    const calls = undoCalls(outcome.changes ?? []);
    setPhase({ name: 'undoing', outcome });
    setProblem(null);
    let restored = 0;
    let kept = 0;
    try {
      for (const cells of calls) {
        const { data } = await undoImport({ variables: { cells } });
        restored += data?.restoreCells.updated.length ?? 0;
        kept += data?.restoreCells.rejected.length ?? 0;
      }
    } catch (err) {
      setProblem(`Could not undo the import: ${(err as Error).message}`);
      return setPhase({ name: 'done', outcome });
    }
    setPhase({ name: 'undone', outcome });
    const lines = (n: number) => `${n.toLocaleString()} ${n === 1 ? 'line' : 'lines'}`;
    const text = `Import of ${file?.name ?? 'the file'} undone: ${lines(restored)} back as they were` +
      (kept > 0 ? `; ${lines(kept)} changed by someone since the import kept as they are.` : '.');
    setProblem(null);
    onNotice(text);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void choose(event.dataTransfer.files[0]);
  }

  const shown = phase.name === 'preview' ? phase.outcome : phase.name === 'applying' ? phase.preview : 'outcome' in phase ? phase.outcome : null;
  const applied = phase.name === 'done' || phase.name === 'undoing' || phase.name === 'undone';

  return (
    <Modal title="Import from a spreadsheet" onCancel={() => !busy && onClose()} wide>
      <p className="muted small">
        Choose a file exported from here and edited (.xlsx or .csv, up to 10 MB). Rows are matched by their line id;
        Budget amount, Forecast sales and Comment are read, and an empty cell clears its value. Rows of other units of{' '}
        {planName} count too, where you may change them. Nothing changes until you apply.
      </p>
      {!applied && (
        <div
          className={`dropzone${dragging ? ' dragging' : ''}`}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <label>
            File
            <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" disabled={busy} onChange={(e) => void choose(e.target.files?.[0])} />
          </label>
          <span className="muted small">or drop it here</span>
        </div>
      )}
      {progress && (
        <div className="upload-progress">
          <progress max={progress.total || 1} value={progress.sent} aria-label={phase.name === 'applying' ? 'Applying' : 'Checking'} />
          <span className="muted small">
            {progress.sent < progress.total
              ? `Sending ${megabytes(progress.sent)} of ${megabytes(progress.total)} (${Math.floor((100 * progress.sent) / (progress.total || 1))}%)…`
              : phase.name === 'applying' ? 'Applying…' : 'Checking…'}
          </span>
        </div>
      )}
      {problem && <div className="form-problem" role="alert">{problem}</div>}
      {shown && <Outcome outcome={shown} done={applied} fileName={file?.name ?? ''} />}
      {phase.name === 'undone' && <p role="status" data-testid="import-undone">The import is undone.</p>}
      <div className="form-actions">
        {(phase.name === 'preview' || phase.name === 'applying') && (
          <button type="button" onClick={() => void apply(shown!)} disabled={busy || shown!.applied === 0}>
            {phase.name === 'applying'
              ? 'Applying…'
              : shown!.applied === 0 ? 'Nothing to apply' : `Apply ${shown!.applied.toLocaleString()} ${shown!.applied === 1 ? 'change' : 'changes'}`}
          </button>
        )}
        {(phase.name === 'done' || phase.name === 'undoing') && (phase.outcome.changes?.length ?? 0) > 0 && (
          <button type="button" className="secondary" onClick={() => void undo(phase.outcome)} disabled={busy}>
            {phase.name === 'undoing' ? 'Undoing…' : 'Undo this import'}
          </button>
        )}
        <button
          type="button"
          className="secondary"
          onClick={() => (busy ? upload.current?.abort() : onClose())}
          disabled={phase.name === 'undoing'}
        >
          {busy ? 'Stop' : applied ? 'Close' : 'Cancel'}
        </button>
      </div>
    </Modal>
  );
}

/** A cell's value as the preview shows it: empty said so, amounts grouped. */
const shownValue = (value: number | string | null) =>
  value === null || value === '' ? <span className="muted">empty</span> : typeof value === 'number' ? value.toLocaleString() : value;

/** What the file would do (the dry run) or did: the counts, the cells a colleague changed since it was exported, and every refused cell. */
function Outcome({ outcome, done, fileName }: { outcome: ImportOutcome; done: boolean; fileName: string }) {
  const { applied, unchanged, rejected, changedSinceExport = [] } = outcome;
  const changedSinceExportCount = outcome.changedSinceExportCount ?? changedSinceExport.length;
  return (
    <div data-testid={done ? 'import-result' : 'import-preview'}>
      <p role="status">
        {done ? (
          <>
            <strong>{fileName}</strong> is imported: {cells(applied)} changed, {cells(unchanged)} unchanged
            {rejected.length > 0 && <>, {cells(rejected.length)} refused (left as they were)</>}.
          </>
        ) : (
          <>
            <strong>{fileName}</strong>: {cells(applied)} would change, {cells(unchanged)} unchanged
            {rejected.length > 0 ? <>, {cells(rejected.length)} refused. Applying changes the others; the refused cells stay as they are.</> : <>, none refused.</>}
          </>
        )}
      </p>
      {changedSinceExport.length > 0 && (
        <div className="import-rejected" data-testid="changed-since-export">
          <p className="banner warn small" role="note">
            {done ? 'These cells' : `${cells(changedSinceExportCount)} of these`} had been changed by someone else after your file was exported:
            {done ? ' they now hold your file\'s values (Undo this import sets them back).' : ' applying sets them to your file\'s values. Export again to keep them.'}
          </p>
          <table className="data" aria-label="Changed since your file was exported">
            <thead>
              <tr><th className="num">Row</th><th>Column</th><th>Value {done ? 'before the import' : 'now'}</th><th>Changed by</th><th>Your file</th></tr>
            </thead>
            <tbody>
              {changedSinceExport.map((c) => (
                <tr key={`${c.row}/${c.column}`}>
                  <td className="num">{c.row}</td>
                  <td className="nowrap">{c.column}</td>
                  <td>{shownValue(c.now)}</td>
                  <td>{c.updatedBy ?? 'someone'}, {formatDateTime(c.updatedAt)}</td>
                  <td>{shownValue(c.file)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {changedSinceExportCount > changedSinceExport.length && (
            <p className="muted small">and {changedSinceExportCount - changedSinceExport.length} more not listed</p>
          )}
        </div>
      )}
      {rejected.length > 0 && (
        <div className="import-rejected">
          <table className="data" aria-label="Refused cells">
            <thead>
              <tr><th className="num">Row</th><th>Column</th><th>Reason</th></tr>
            </thead>
            <tbody>
              {rejected.map((r, i) => (
                <tr key={`${r.row}/${r.column}/${i}`}>
                  <td className="num">{r.row}</td>
                  <td className="nowrap">{r.column}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
