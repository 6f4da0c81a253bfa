/**
 * The form of a manual step that is waiting for input, generated from the step's JSON schema; what the
 * server refuses (BAD_USER_INPUT, or CONFLICT when someone else answered first) is shown beside it.
 */
import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { SubmitStepInputDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { SchemaForm, type Widget } from '../common/schemaForm/SchemaForm';
import { asSchema } from '../common/schemaForm/schema';
import { OrganizationPicker } from './OrganizationPicker';
import type { Definition, Execution } from './model';

/** Inputs that deserve better than a text box. */
const WIDGETS: Record<string, Record<string, Widget>> = {
  select_organization: { organizationId: OrganizationPicker },
};
const LABELS: Record<string, string> = { organizationId: 'Organisation', organizationName: 'Organisation name' };

export function StepInputForm({ execution, step }: { execution: Execution; step: Definition['steps'][number] }) {
  const [submit, { loading }] = useMutation(SubmitStepInputDocument);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const schema = asSchema(step.inputSchema) ?? { type: 'object' as const };
  return (
    <div className="step-form" aria-label={`Input for ${step.name}`} role="region">
      <SchemaForm
        schema={schema}
        submitLabel="Submit"
        busy={loading}
        serverProblem={problem}
        onEdit={() => setProblem(null)}
        labels={LABELS}
        widgets={WIDGETS[step.key]}
        onSubmit={async (input) => {
          setProblem(null);
          try {
            await submit({ variables: { executionId: execution.id, stepKey: step.key, input } });
          } catch (error) {
            setProblem(problemOf(error));
          }
        }}
      />
    </div>
  );
}
