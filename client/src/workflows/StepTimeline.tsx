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
