/**
 * An execution's steps in order: status, attempts, how long each took (counting up while one runs), its
 * error, its input and output on demand, the form of a manual step waiting for input, and "Retry" on a
 * failed step for the people who drive the execution.
 */
import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { RetryStepDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDuration, formatTime, roleLabel, StatusBadge } from '../common/format';
import { useNow } from '../common/useNow';
import { StepInputForm } from './StepInputForm';
import { StepSummary } from '../review/StepSummary';
import type { Definition, Execution, Step } from './model';

interface AccessLine {
  system: string;
  name: string;
}
/** What an offboarding lists in its confirmation step's output (server/src/workflow/offboarding.ts). */
interface OffboardingList {
  toRemove?: AccessLine[];
  thenDeactivate?: string;
  people?: { email: string; toRemove: AccessLine[] }[];
  toClose?: AccessLine[];
}

/** The tools as people name them. */
const SYSTEMS: Record<string, string> = { studio: 'Studio', metabase: 'Metabase', teams: 'Teams', slack: 'Slack', lms: 'LMS', infrabot: 'Infrabot' };
const accessLine = (l: AccessLine) => `${SYSTEMS[l.system] ?? l.system}: ${l.name}`;

function AccessList({ lines }: { lines: readonly AccessLine[] }) {
  if (lines.length === 0) return <ul><li>No access in other tools</li></ul>;
  return <ul>{lines.map((l) => <li key={`${l.system}/${l.name}`}>{accessLine(l)}</li>)}</ul>;
}

/** Above an offboarding's confirmation: what it removes, in words, before anyone confirms it. */
function OffboardingSummary({ step }: { step: Step }) {
  const list = (step.output ?? {}) as OffboardingList;
  if (!list.toRemove && !list.people) return null;
  return (
    <div className="offboarding-summary" role="region" aria-label="What the offboarding removes">
      {list.toRemove && (
        <>
          <p>Removes their access:</p>
          <AccessList lines={list.toRemove} />
          <p>then deactivates {list.thenDeactivate} in Plansync.</p>
        </>
      )}
      {list.people && (
        <>
          <p>{list.people.length === 1 ? '1 person loses their access and is' : `${list.people.length} people lose their access and are`} deactivated in Plansync:</p>
          <ul>
            {list.people.map((p) => (
              <li key={p.email}>{p.email}: {p.toRemove.length === 0 ? 'no access in other tools' : p.toRemove.map(accessLine).join(', ')}</li>
            ))}
          </ul>
          {list.toClose && (
            <>
              <p>then closes the organisation&apos;s own:</p>
              <AccessList lines={list.toClose} />
            </>
          )}
        </>
      )}
    </div>
  );
}

function Duration({ step, now }: { step: Step; now: number }) {
  // A manual step has no run of its own: say who answered it, and when.
  const output = (step.output ?? {}) as { providedBy?: string; filledFor?: string };
  if (step.kind === 'MANUAL' && step.status === 'SUCCEEDED') {
    if (output.providedBy) return <span>answered by {output.providedBy} at {formatTime(step.finishedAt)}</span>;
    if (output.filledFor) return <span>filled in at the start (a partner admin adds people to their own organisation)</span>;
  }
  if (!step.startedAt) return null;
  const start = Date.parse(step.startedAt);
  if (step.finishedAt) return <span>took {formatDuration(Date.parse(step.finishedAt) - start)}</span>;
  if (step.status === 'RUNNING') return <span className="ticking">running for {formatDuration(now - start)}</span>;
  if (step.status === 'AWAITING_INPUT') return <span>waiting for {formatDuration(now - start)}</span>;
  return null;
}

function Json({ label, value }: { label: string; value: unknown }) {
  if (value === null || value === undefined) return null;
  return (
    <details className="json">
      <summary>{label}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

function RetryButton({ execution, step }: { execution: Execution; step: Step }) {
  const [retry, { loading }] = useMutation(RetryStepDocument);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  return (
    <div className="retry">
      <button
        type="button"
        disabled={loading}
        aria-label={`Retry ${step.name}`}
        onClick={async () => {
          setProblem(null);
          try {
            await retry({ variables: { executionId: execution.id, stepKey: step.key } });
          } catch (error) {
            setProblem(problemOf(error));
          }
        }}
      >
        {loading ? 'Retrying…' : 'Retry'}
      </button>
      {problem && <span className="field-error" role="alert">{problem.message}</span>}
    </div>
  );
}

function StepItem({ execution, step, index, definition, now }: {
  execution: Execution; step: Step; index: number; definition: Definition | undefined; now: number;
}) {
  const stepDefinition = definition?.steps.find((s) => s.key === step.key);
  const awaiting = step.status === 'AWAITING_INPUT' && step.kind === 'MANUAL';
  const mayAnswer = awaiting && step.canGiveInput;
  return (
    <li className={`step step-${step.status.toLowerCase()}`} data-step={step.key} data-status={step.status}>
      <span className="step-marker" aria-hidden="true">{index + 1}</span>
      <div className="step-body">
        <div className="step-head">
          <span className="step-name">{step.name}</span>
          {step.kind === 'MANUAL' && <span className="tag">Manual</span>}
          <StatusBadge status={step.status} />
        </div>
        <div className="step-meta muted small">
          {step.attempts > 0 && <span>{step.attempts === 1 ? '1 attempt' : `${step.attempts} attempts`}</span>}
          {step.startedAt && <span>started {formatTime(step.startedAt)}</span>}
          <Duration step={step} now={now} />
        </div>
        <StepSummary execution={execution} step={step} />
        {step.kind === 'MANUAL' && step.key.startsWith('confirm_') && <OffboardingSummary step={step} />}
        {step.error && <p className="step-error">{step.error}</p>}
        {step.status === 'FAILED' && execution.canDrive && <RetryButton execution={execution} step={step} />}
        {mayAnswer && stepDefinition && <StepInputForm key={`${execution.id}/${step.key}`} execution={execution} step={stepDefinition} />}
        {awaiting && !mayAnswer && (
          <p className="muted small">
            {stepDefinition?.inputRoles ? `Waiting for input from ${stepDefinition.inputRoles.map(roleLabel).join(' or ')}.` : 'Waiting for input.'}
          </p>
        )}
        <div className="step-data">
          <Json label="Input" value={step.input} />
          <Json label="Output" value={step.output} />
        </div>
      </div>
    </li>
  );
}

export function StepTimeline({ execution, definition }: { execution: Execution; definition: Definition | undefined }) {
  const running = execution.steps.some((s) => s.status === 'RUNNING' || s.status === 'AWAITING_INPUT');
  const now = useNow(running);
  return (
    <ol className="timeline" aria-label="Steps">
      {execution.steps.map((step, index) => (
        <StepItem key={step.key} execution={execution} step={step} index={index} definition={definition} now={now} />
      ))}
    </ol>
  );
}
