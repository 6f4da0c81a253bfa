/**
 * How @rjsf/core draws our forms: its templates and widgets replaced by ours, in the app's own markup and
 * classes (styles.css: `.field`, `.field-error`, `.rows-field`, `.rows-table`…), with no theme's CSS.
 * - A field is a label (with a * when required), its input, a hint (the schema's description) and its
 *   problem, which the input names in aria-describedby.
 * - A list of objects is a table: one row per item with a number, one column per property (labelled
 *   "Name, row 2" for assistive technology), a Remove button per row and an Add button under it.
 * - A field the server's refusal names is marked invalid; the server's message itself is shown once,
 *   above the submit button (SchemaForm.tsx).
 *
 * Where a field sits is read from its path (`fieldPathId.path`): [] is the form, a number last is a row of a
 * list, a number before last is a cell of a row.
 *
 * Out of scope: what rjsf supports that our schemas never use (oneOf, additional properties, numbers,
 * reordering rows): rjsf's own templates would draw those, unstyled. Booleans are one checkbox (an
 * offboarding's confirmation).
 */
import { createContext, useContext, type ChangeEvent, type ReactNode } from 'react';
import type {
  ArrayFieldItemTemplateProps, ArrayFieldTemplateProps, FieldErrorProps, FieldTemplateProps, FieldPathList,
  ObjectFieldTemplateProps, RegistryWidgetsType, TemplatesType, UiSchema, WidgetProps as RjsfWidgetProps,
} from '@rjsf/utils';
import { getUiOptions } from '@rjsf/utils';
import { labelOf, type JsonSchema } from './schema';

/** What SchemaForm gives every template (rjsf's formContext). */
export interface FormContext {
  /** The id rjsf gives the field the server's refusal names, if any (SchemaForm turns its path into one). */
  serverFieldId?: string;
  /** Labels by property key, when the schema's own names are not what people call them. */
  labels: Record<string, string>;
}

/** rjsf joins a field's path with this into its id: "<form>.companies.0.name", like the server's dotted paths. */
export const ID_SEPARATOR = '.';

/** Whether the server's refusal names this field, or something inside it: the field is marked, not repeated. */
function namedByServer(context: FormContext | undefined, id: string): boolean {
  const named = context?.serverFieldId;
  return !!named && (named === id || named.startsWith(`${id}${ID_SEPARATOR}`));
}

const errorId = (id: string) => `${id}-error`;
/** A list's or object's label: the uiSchema's (SchemaForm sets every label there), else rjsf's. */
const titleOf = (uiSchema: UiSchema | undefined, title: string) => getUiOptions(uiSchema).title ?? title;
const isRow = (path: FieldPathList) => typeof path.at(-1) === 'number';
const isCell = (path: FieldPathList) => path.length >= 2 && typeof path.at(-2) === 'number';

/** The row a cell is in, and whether a row may be removed now (the list keeps its minItems). */
const RowContext = createContext<{ index: number } | null>(null);
const ListContext = createContext<{ canRemove: boolean }>({ canRemove: true });

function Required({ required }: { required?: boolean }) {
  return required ? <span className="required" aria-hidden="true"> *</span> : null;
}

/** A field's problems (one, after messages.ts), where its input's aria-describedby points. */
function FieldErrorTemplate({ errors, fieldPathId }: FieldErrorProps) {
  const messages = (errors ?? []).filter((e) => e !== '');
  if (messages.length === 0) return null;
  return <p className="field-error" id={errorId(fieldPathId.$id)}>{messages.join(' ')}</p>;
}

function FieldTemplate({ id, label, children, errors, rawDescription, required, hidden, schema, fieldPathId }: FieldTemplateProps) {
  const path = fieldPathId.path;
  if (hidden) return null;
  // The form, a list (its fieldset has the label), an object (same) and a row draw themselves.
  if (path.length === 0 || schema.type === 'array' || schema.type === 'object' || isRow(path)) {
    return <>{children}{path.length === 0 ? errors : null}</>;
  }
  if (isCell(path)) {
    // Inside a table row: the column header is the visible label.
    return <div className="field cell-field">{children}{errors}</div>;
  }
  return (
    <div className="field">
      <label htmlFor={id}>
        <span>{label}<Required required={required} /></span>
      </label>
      {children}
      {rawDescription && <p className="hint">{rawDescription}</p>}
      {errors}
    </div>
  );
}

function ObjectFieldTemplate({ properties, title, uiSchema, fieldPathId }: ObjectFieldTemplateProps) {
  const path = fieldPathId.path;
  if (isRow(path)) return <>{properties.map((p) => <td key={p.name}>{p.content}</td>)}</>;
  const content = properties.filter((p) => !p.hidden).map((p) => p.content);
  if (path.length === 0) return <>{content}</>;
  return (
    <fieldset className="object-field">
      <legend>{titleOf(uiSchema, title)}</legend>
      {content}
    </fieldset>
  );
}

function ArrayFieldTemplate({
  items, canAdd, onAddClick, disabled, readonly, title, schema, uiSchema, fieldPathId, errorSchema, registry,
}: ArrayFieldTemplateProps) {
  const context = registry.formContext as FormContext;
  const item = (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items) ? schema.items : {}) as JsonSchema;
  const columns = Object.entries(item.properties ?? {}) as [string, JsonSchema][];
  const problems = (errorSchema as { __errors?: string[] } | undefined)?.__errors ?? [];
  const problemId = errorId(fieldPathId.$id);
  return (
    <fieldset
      id={fieldPathId.$id}
      className={`rows-field${namedByServer(context, fieldPathId.$id) ? ' invalid' : ''}`}
      aria-describedby={problems.length > 0 ? problemId : undefined}
    >
      <legend>{titleOf(uiSchema, title)}</legend>
      {items.length > 0 && (
        <table className="rows-table">
          <thead>
            <tr>
              <th scope="col" className="row-number">#</th>
              {columns.map(([key, column]) => (
                <th scope="col" key={key}>
                  {context.labels[key] ?? labelOf(key, column)}
                  <Required required={item.required?.includes(key)} />
                </th>
              ))}
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <ListContext.Provider value={{ canRemove: items.length > (schema.minItems ?? 0) }}>
            <tbody>{items}</tbody>
          </ListContext.Provider>
        </table>
      )}
      <button type="button" className="secondary small-button" disabled={!canAdd || disabled || readonly} onClick={onAddClick}>
        Add a row
      </button>
      {problems.length > 0 && <p className="field-error" id={problemId}>{problems.join(' ')}</p>}
    </fieldset>
  );
}

function ArrayFieldItemTemplate({ children, index, buttonsProps, disabled, readonly }: ArrayFieldItemTemplateProps) {
  const { canRemove } = useContext(ListContext);
  return (
    <tr>
      <td className="row-number">{index + 1}</td>
      <RowContext.Provider value={{ index }}>{children}</RowContext.Provider>
      <td>
        <button
          type="button"
          className="secondary small-button"
          disabled={!canRemove || disabled || readonly}
          aria-label={`Remove row ${index + 1}`}
          onClick={buttonsProps.onRemoveItem}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

/** Our templates, for rjsf's `templates` prop. */
export const TEMPLATES: Partial<TemplatesType> = {
  FieldTemplate, FieldErrorTemplate, ObjectFieldTemplate, ArrayFieldTemplate, ArrayFieldItemTemplate,
};

/** The accessibility attributes every input of ours carries: invalid, described by its problem, its row. */
function useInputAttributes({ id, rawErrors, required, label, registry }: RjsfWidgetProps) {
  const row = useContext(RowContext);
  const hasProblem = (rawErrors ?? []).length > 0;
  return {
    id,
    'aria-invalid': hasProblem || namedByServer(registry.formContext as FormContext, id) ? true : undefined,
    'aria-describedby': hasProblem ? errorId(id) : undefined,
    'aria-required': required || undefined,
    'aria-label': row ? `${label}, row ${row.index + 1}` : undefined,
  } as const;
}

/** rjsf stores an emptied input as `emptyValue` (undefined): an optional text left empty is not sent. */
const valueOf = (props: RjsfWidgetProps, text: string) => (text === '' ? props.options.emptyValue : text);

/** Text, email, or a paragraph (a review comment: over 500 characters allowed and no format). */
function TextWidget(props: RjsfWidgetProps) {
  const { schema, value, disabled, readonly, onChange, onBlur, onFocus, id } = props;
  const attributes = useInputAttributes(props);
  const common = {
    ...attributes,
    value: value ?? '',
    disabled: disabled || readonly,
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => onChange(valueOf(props, e.target.value)),
    onBlur: () => onBlur(id, value),
    onFocus: () => onFocus(id, value),
  };
  if ((schema.maxLength ?? 0) > 500 && !schema.format) return <textarea {...common} rows={3} />;
  return <input {...common} type={schema.format === 'email' ? 'email' : 'text'} autoComplete="off" />;
}

/** "APPROVE" reads "Approve"; values already in lower case ("prod") are shown as they are sent. */
export const optionLabel = (option: unknown) => {
  const text = String(option);
  return /^[A-Z_]+$/.test(text) ? text.charAt(0) + text.slice(1).toLowerCase().replace(/_/g, ' ') : text;
};

/** A choice from the schema's enum, with nothing chosen at first. */
function SelectWidget(props: RjsfWidgetProps) {
  const { value, disabled, readonly, onChange, onBlur, onFocus, id, options } = props;
  return (
    <select
      {...useInputAttributes(props)}
      value={value ?? ''}
      disabled={disabled || readonly}
      onChange={(e) => onChange(valueOf(props, e.target.value))}
      onBlur={() => onBlur(id, value)}
      onFocus={() => onFocus(id, value)}
    >
      <option value="">Choose…</option>
      {(options.enumOptions ?? []).map((option) => (
        <option key={String(option.value)} value={String(option.value)}>{optionLabel(option.value)}</option>
      ))}
    </select>
  );
}

/** A yes or no, labelled by the field's label (an offboarding's "I confirm…"); unticked is left out. */
function CheckboxWidget(props: RjsfWidgetProps) {
  const { value, disabled, readonly, onChange, onBlur, onFocus, id } = props;
  return (
    <input
      type="checkbox"
      {...useInputAttributes(props)}
      checked={value === true}
      disabled={disabled || readonly}
      onChange={(e) => onChange(e.target.checked ? true : props.options.emptyValue)}
      onBlur={() => onBlur(id, value)}
      onFocus={() => onFocus(id, value)}
    />
  );
}

/** Our widgets, for rjsf's `widgets` prop (email fields use the text widget with type="email"). */
export const WIDGETS: RegistryWidgetsType = { TextWidget, EmailWidget: TextWidget, TextareaWidget: TextWidget, SelectWidget, CheckboxWidget };

/** The props of a custom input (SchemaForm's `widgets`): what it shows and what it reports, nothing of rjsf. */
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

/** A custom input as an rjsf widget. */
export function adaptWidget(Custom: Widget) {
  return function AdaptedWidget(props: RjsfWidgetProps) {
    const attributes = useInputAttributes(props);
    return (
      <Custom
        id={props.id}
        label={props.label}
        value={props.value ?? ''}
        onChange={(text) => props.onChange(valueOf(props, text))}
        invalid={!!attributes['aria-invalid']}
        describedBy={attributes['aria-describedby']}
        required={!!props.required}
      />
    );
  };
}
