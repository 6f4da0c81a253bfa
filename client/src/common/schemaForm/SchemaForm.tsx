/**
 * A form generated from a JSON schema (see jsonSchema.ts for the supported subset): text, email and id
 * fields, choices from an enum, and lists of objects as rows that can be added and removed. The schema's
 * rules are checked on submit and then as the person corrects them; the server's refusal (BAD_USER_INPUT
 * and friends) is shown next to the form, and beside the field it names when it names one.
 */
import { useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ErrorCode } from '../../../../schema/codes';
import type { ProblemInfo } from '../errors';
import {
  getAt, initialValue, labelOf, setAt, toInput, validate,
  type FormErrors, type FormValue, type JsonSchema,
} from './jsonSchema';

export interface WidgetProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  invalid: boolean;
  describedBy?: string;
  required: boolean;
}

export type Widget = (props: WidgetProps) => ReactNode;

export interface SchemaFormProps {
  schema: JsonSchema;
  submitLabel: string;
  onSubmit: (input: unknown) => void;
  busy?: boolean;
  /** The server's answer to the last submit, when it refused it. */
  serverProblem?: ProblemInfo | null;
  /** Called on every edit, so the caller can clear a server problem that no longer applies. */
  onEdit?: () => void;
  /** Labels by property key, when the schema's own names are not what people call them. */
  labels?: Record<string, string>;
  /** Custom inputs by path ("organizationId"), such as a picker of organisations. */
  widgets?: Record<string, Widget>;
}

interface FieldContext {
  idBase: string;
  value: FormValue;
  errors: FormErrors;
  serverField?: string;
  labels: Record<string, string>;
  widgets: Record<string, Widget>;
  disabled: boolean;
  change: (path: string, next: FormValue) => void;
}

/** "APPROVE" reads "Approve"; values already in lower case ("prod") are shown as they are sent. */
const optionLabel = (option: unknown) => {
  const text = String(option);
  return /^[A-Z_]+$/.test(text) ? text.charAt(0) + text.slice(1).toLowerCase().replace(/_/g, ' ') : text;
};

const fieldId = (ctx: FieldContext, path: string) => `${ctx.idBase}-${path.replace(/\./g, '-') || 'root'}`;

/** The problem found here at a path. The server's message is shown once, above the submit button. */
function problemAt(ctx: FieldContext, path: string): string | undefined {
  return ctx.errors[path];
}

/** Whether the server's refusal names this path (or something inside it): the field is marked, not repeated. */
const namedByServer = (ctx: FieldContext, path: string) =>
  !!ctx.serverField && (ctx.serverField === path || ctx.serverField.startsWith(`${path}.`));

function FieldProblem({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return <p className="field-error" id={id}>{message}</p>;
}

function StringInput({ ctx, path, schema, label, required, ariaLabel }: {
  ctx: FieldContext; path: string; schema: JsonSchema; label: string; required: boolean; ariaLabel?: string;
}) {
  const id = fieldId(ctx, path);
  const problem = problemAt(ctx, path);
  const errorId = `${id}-error`;
  const value = (getAt(ctx.value, path) as string | undefined) ?? '';
  const common = {
    id,
    'aria-invalid': problem || namedByServer(ctx, path) ? true : undefined,
    'aria-describedby': problem ? errorId : undefined,
    'aria-required': required || undefined,
    'aria-label': ariaLabel,
    disabled: ctx.disabled,
  };
  const Widget = ctx.widgets[path.replace(/\.\d+\./g, '.*.')];
  let input: ReactNode;
  if (Widget) {
    input = (
      <Widget id={id} label={label} value={value} onChange={(v) => ctx.change(path, v)} invalid={!!problem || namedByServer(ctx, path)}
        describedBy={problem ? errorId : undefined} required={required} />
    );
  } else if (schema.enum) {
    input = (
      <select {...common} value={value} onChange={(e) => ctx.change(path, e.target.value)}>
        <option value="">Choose…</option>
        {schema.enum.map((option) => (
          <option key={String(option)} value={String(option)}>{optionLabel(option)}</option>
        ))}
      </select>
    );
  } else if ((schema.maxLength ?? 0) > 500 && !schema.format) {
    // Room for a paragraph (a review comment), not for an address.
    input = <textarea {...common} rows={3} value={value} onChange={(e) => ctx.change(path, e.target.value)} />;
  } else {
    input = (
      <input
        {...common}
        type={schema.format === 'email' ? 'email' : 'text'}
        autoComplete="off"
        value={value}
        onChange={(e) => ctx.change(path, e.target.value)}
      />
    );
  }
  if (ariaLabel) {
    // Inside a table row: the column header is the visible label.
    return (
      <div className="field cell-field">
        {input}
        <FieldProblem id={errorId} message={problem} />
      </div>
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        <span>{label}{required && <span className="required" aria-hidden="true"> *</span>}</span>
      </label>
      {input}
      {schema.description && <p className="hint">{schema.description}</p>}
      <FieldProblem id={errorId} message={problem} />
    </div>
  );
}

function RowsField({ ctx, path, schema, label }: { ctx: FieldContext; path: string; schema: JsonSchema; label: string }) {
  const rows = (getAt(ctx.value, path) as FormValue[] | undefined) ?? [];
  const item = schema.items ?? { type: 'string' };
  const columns = Object.entries(item.properties ?? {});
  const problem = problemAt(ctx, path);
  const errorId = `${fieldId(ctx, path)}-error`;
  const canAdd = schema.maxItems === undefined || rows.length < schema.maxItems;
  const canRemove = rows.length > (schema.minItems ?? 0);
  return (
    <fieldset className={`rows-field${namedByServer(ctx, path) ? ' invalid' : ''}`} aria-describedby={problem ? errorId : undefined}>
      <legend>{label}</legend>
      {rows.length > 0 && (
        <table className="rows-table">
          <thead>
            <tr>
              <th scope="col" className="row-number">#</th>
              {columns.map(([key, column]) => (
                <th scope="col" key={key}>
                  {ctx.labels[key] ?? labelOf(key, column)}
                  {item.required?.includes(key) && <span className="required" aria-hidden="true"> *</span>}
                </th>
              ))}
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((_, index) => (
              <tr key={index}>
                <td className="row-number">{index + 1}</td>
                {columns.map(([key, column]) => {
                  const columnLabel = ctx.labels[key] ?? labelOf(key, column);
                  return (
                    <td key={key}>
                      <StringInput
                        ctx={ctx}
                        path={`${path}.${index}.${key}`}
                        schema={column}
                        label={columnLabel}
                        required={!!item.required?.includes(key)}
                        ariaLabel={`${columnLabel}, row ${index + 1}`}
                      />
                    </td>
                  );
                })}
                <td>
                  <button
                    type="button"
                    className="secondary small-button"
                    disabled={!canRemove || ctx.disabled}
                    aria-label={`Remove row ${index + 1}`}
                    onClick={() => ctx.change(path, rows.filter((__, i) => i !== index))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button
        type="button"
        className="secondary small-button"
        disabled={!canAdd || ctx.disabled}
        onClick={() => ctx.change(path, [...rows, initialValue(item)])}
      >
        Add a row
      </button>
      <FieldProblem id={errorId} message={problem} />
    </fieldset>
  );
}

function Fields({ ctx, schema, path }: { ctx: FieldContext; schema: JsonSchema; path: string }) {
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([key, property]) => {
        const childPath = path ? `${path}.${key}` : key;
        const label = ctx.labels[key] ?? labelOf(key, property);
        const required = !!schema.required?.includes(key);
        if (property.type === 'array') return <RowsField key={key} ctx={ctx} path={childPath} schema={property} label={label} />;
        if (property.type === 'object') {
          return (
            <fieldset key={key} className="object-field">
              <legend>{label}</legend>
              <Fields ctx={ctx} schema={property} path={childPath} />
            </fieldset>
          );
        }
        return <StringInput key={key} ctx={ctx} path={childPath} schema={property} label={label} required={required} />;
      })}
    </>
  );
}

export function SchemaForm({ schema, submitLabel, onSubmit, busy = false, serverProblem, onEdit, labels = {}, widgets = {} }: SchemaFormProps) {
  const idBase = useId().replace(/:/g, '');
  const form = useRef<HTMLFormElement>(null);
  const [value, setValue] = useState<FormValue>(() => initialValue(schema));
  const [errors, setErrors] = useState<FormErrors>({});
  // Problems appear on the first submit, then follow each correction.
  const [checked, setChecked] = useState(false);

  const change = (path: string, next: FormValue) => {
    const updated = setAt(value, path, next);
    setValue(updated);
    if (checked) setErrors(validate(schema, updated));
    onEdit?.();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validate(schema, value);
    setErrors(found);
    setChecked(true);
    if (Object.keys(found).length > 0) {
      // Bring the person to the first thing to fix.
      requestAnimationFrame(() => form.current?.querySelector<HTMLElement>('[aria-invalid="true"], .field-error')?.focus());
      return;
    }
    onSubmit(toInput(schema, value));
  };

  const ctx: FieldContext = {
    idBase,
    value,
    errors,
    serverField: serverProblem?.field,
    labels,
    widgets,
    disabled: busy,
    change,
  };
  const count = Object.keys(errors).length;
  return (
    <form ref={form} className="schema-form" noValidate onSubmit={submit}>
      <Fields ctx={ctx} schema={schema} path="" />
      {errors[''] && <p className="field-error">{errors['']}</p>}
      {serverProblem && (
        <div className="form-problem" role="alert">
          <strong>{serverProblem.code === ErrorCode.BAD_USER_INPUT ? 'The server did not accept this input:' : 'This did not work:'}</strong>{' '}
          {serverProblem.message}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" disabled={busy}>{busy ? 'Sending…' : submitLabel}</button>
        {count > 0 && (
          <span className="field-error" role="status">
            {count === 1 ? 'One field needs attention.' : `${count} fields need attention.`}
          </span>
        )}
      </div>
    </form>
  );
}
