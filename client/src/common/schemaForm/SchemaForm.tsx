/**
 * A form generated from a JSON schema by @rjsf/core, checked by @rjsf/validator-ajv8 (precompiled:
 * validator.ts) and drawn in the app's own markup (templates.tsx). The schema's rules are checked on submit,
 * then as the person corrects them; the server's refusal (BAD_USER_INPUT and friends) is shown above the
 * submit button, and the field it names is marked.
 *
 * Callers know nothing of rjsf: they give a schema, labels and custom inputs, and get the input to send.
 */
import { useId, useMemo, useState } from 'react';
import Form from '@rjsf/core';
import type { RegistryWidgetsType, UiSchema } from '@rjsf/utils';
import { ErrorCode } from '../../../../schema/codes';
import type { ProblemInfo } from '../errors';
import { problemMessages } from './messages';
import { labelOf, type JsonSchema } from './schema';
import { adaptWidget, ID_SEPARATOR, TEMPLATES, WIDGETS, type FormContext, type Widget } from './templates';
import { validatorFor } from './validator';

export type { Widget, WidgetProps } from './templates';

export interface SchemaFormProps {
  schema: JsonSchema;
  submitLabel: string;
  /** Called with the input (as the server expects it: optional fields left empty are absent) once it is valid. */
  onSubmit: (input: unknown) => void;
  busy?: boolean;
  /** The server's answer to the last submit, when it refused it. */
  serverProblem?: ProblemInfo | null;
  /** Called on every edit, so the caller can clear a server problem that no longer applies. */
  onEdit?: () => void;
  /** Labels by property key, when the schema's own names are not what people call them. */
  labels?: Record<string, string>;
  /** Custom inputs by path ("organizationId"; "companies.*.name" inside rows), such as a picker of organisations. */
  widgets?: Record<string, Widget>;
}

/**
 * rjsf's uiSchema for our schemas: every field's label (`labels`, else the schema's title, else its key in
 * words) and the custom inputs, by path.
 */
function uiSchemaFor(schema: JsonSchema, labels: Record<string, string>, widgetPaths: readonly string[], path = ''): UiSchema {
  const ui: UiSchema = {};
  for (const [key, property] of Object.entries(schema.properties ?? {}) as [string, JsonSchema][]) {
    const at = path ? `${path}.${key}` : key;
    const field: UiSchema = { 'ui:title': labels[key] ?? labelOf(key, property) };
    if (widgetPaths.includes(at)) field['ui:widget'] = at;
    if (property.type === 'object') Object.assign(field, uiSchemaFor(property, labels, widgetPaths, at));
    const item = property.items;
    if (property.type === 'array' && item && typeof item === 'object' && !Array.isArray(item)) {
      field.items = uiSchemaFor(item as JsonSchema, labels, widgetPaths, `${at}.*`);
    }
    ui[key] = field;
  }
  return ui;
}

/**
 * What every form of ours shares: our templates and ids, problems beside their fields (no list of them above
 * the form, no browser bubbles), and the first one focused on a refused submit.
 */
const EVERY_FORM = {
  className: 'schema-form',
  templates: TEMPLATES,
  idSeparator: ID_SEPARATOR,
  noHtml5Validate: true,
  showErrorList: false,
  focusOnFirstError: true,
  // A `const` is what must be given, not a value to fill in: an offboarding's `confirm: true` starts unticked.
  experimental_defaultFormStateBehavior: { constAsDefaults: 'never' },
} as const;

// Defaults that keep their identity between renders (the uiSchema and widgets are computed from them).
const NO_LABELS: Record<string, string> = {};
const NO_WIDGETS: Record<string, Widget> = {};

export function SchemaForm({
  schema, submitLabel, onSubmit, busy = false, serverProblem, onEdit, labels = NO_LABELS, widgets = NO_WIDGETS,
}: SchemaFormProps) {
  // Several forms can be on one page: each gets its own ids.
  const idPrefix = `form${useId().replace(/[^a-zA-Z0-9]/g, '')}`;
  // What rjsf is given for this schema, made once per schema, labels and custom inputs.
  const forSchema = useMemo(() => {
    const custom = Object.entries(widgets).map(([path, widget]) => [path, adaptWidget(widget)]);
    return {
      schema,
      uiSchema: uiSchemaFor(schema, labels, Object.keys(widgets)),
      validator: validatorFor(schema),
      transformErrors: problemMessages(schema),
      widgets: { ...WIDGETS, ...Object.fromEntries(custom) } as RegistryWidgetsType,
    };
  }, [schema, labels, widgets]);
  // Problems appear on the first submit, then follow each correction.
  const [submitted, setSubmitted] = useState(false);
  const [problemCount, setProblemCount] = useState(0);
  const formContext: FormContext = {
    labels,
    serverFieldId: serverProblem?.field ? [idPrefix, ...serverProblem.field.split('.')].join(ID_SEPARATOR) : undefined,
  };

  return (
    <Form
      {...EVERY_FORM}
      {...forSchema}
      formContext={formContext}
      idPrefix={idPrefix}
      disabled={busy}
      liveValidate={submitted ? 'onChange' : undefined}
      onChange={(event) => {
        if (submitted) setProblemCount(event.errors.length);
        onEdit?.();
      }}
      onError={(errors) => {
        setSubmitted(true);
        setProblemCount(errors.length);
      }}
      onSubmit={({ formData }) => {
        setSubmitted(true);
        setProblemCount(0);
        onSubmit(formData);
      }}
    >
      {serverProblem && (
        <div className="form-problem" role="alert">
          <strong>{serverProblem.code === ErrorCode.BAD_USER_INPUT ? 'The server did not accept this input:' : 'This did not work:'}</strong>{' '}
          {serverProblem.message}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" disabled={busy}>{busy ? 'Sending…' : submitLabel}</button>
        {problemCount > 0 && (
          <span className="field-error" role="status">
            {problemCount === 1 ? 'One field needs attention.' : `${problemCount} fields need attention.`}
          </span>
        )}
      </div>
    </Form>
  );
}
