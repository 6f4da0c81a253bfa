/**
 * Starting a workflow from the monitor: one card per definition the person may start, with the form of
 * its start input (new_partner asks for the organisation's name; new_partner_user for nothing; the
 * offboardings for a person or an organisation, picked from a list). The new execution opens at once.
 */
import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { StartWorkflowDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { SchemaForm, type Widget } from '../common/schemaForm/SchemaForm';
import { asSchema, hasFields } from '../common/schemaForm/schema';
import { OrganizationPicker } from './OrganizationPicker';
import { PersonPicker } from './PersonPicker';
import type { Definition, Execution } from './model';

const LABELS = { organizationName: 'Organisation name', userId: 'Person', organizationId: 'Organisation' };
/** Start inputs that deserve better than a text box. */
const WIDGETS: Record<string, Record<string, Widget>> = {
  offboard_partner_user: { userId: PersonPicker },
  offboard_partner: { organizationId: OrganizationPicker },
};

function StartCard({ definition, onStarted }: { definition: Definition; onStarted: (execution: Execution) => void }) {
  const [start, { loading }] = useMutation(StartWorkflowDocument);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const schema = asSchema(definition.inputSchema);
  const run = async (input: unknown) => {
    setProblem(null);
    try {
      const { data } = await start({ variables: { definitionKey: definition.key, input } });
      if (data) onStarted(data.startWorkflow);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  const headingId = `start-${definition.key}`;
  return (
    <section className="start-card" aria-labelledby={headingId}>
      <h3 id={headingId}>{definition.name}</h3>
      <p className="muted small">{definition.description}</p>
      {schema && hasFields(schema) ? (
        <SchemaForm schema={schema} submitLabel={`Start “${definition.name}”`} busy={loading} serverProblem={problem}
          onEdit={() => setProblem(null)} labels={LABELS} widgets={WIDGETS[definition.key]} onSubmit={run} />
      ) : (
        <div className="form-actions">
          <button type="button" disabled={loading} onClick={() => void run({})}>
            {loading ? 'Starting…' : `Start “${definition.name}”`}
          </button>
          {problem && <span className="field-error" role="alert">{problem.message}</span>}
        </div>
      )}
    </section>
  );
}

export function StartWorkflow({ definitions, onStarted }: { definitions: readonly Definition[]; onStarted: (execution: Execution) => void }) {
  if (definitions.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="start-title">
      <h2 id="start-title">Start a workflow</h2>
      <div className="start-cards">
        {definitions.map((d) => (
          <StartCard key={d.key} definition={d} onStarted={onStarted} />
        ))}
      </div>
    </section>
  );
}
