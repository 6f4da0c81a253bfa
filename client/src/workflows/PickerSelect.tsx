/**
 * A schema-form widget that offers a choice among things loaded from the server (people, organisations)
 * instead of an id to paste: what the pickers share.
 */
import type { WidgetProps } from '../common/schemaForm/SchemaForm';

interface PickerSelectProps extends WidgetProps {
  options: readonly { value: string; label: string }[];
  loading: boolean;
  error?: { message: string };
  /** What is chosen, in the plural, for the messages: "people", "organisations". */
  things: string;
  /** The empty choice's words: "Choose a person…". */
  placeholder: string;
}

export function PickerSelect({ id, value, onChange, invalid, describedBy, required, options, loading, error, things, placeholder }: PickerSelectProps) {
  const waiting = loading && options.length === 0;
  return (
    <>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        aria-required={required || undefined}
        disabled={waiting}
      >
        <option value="">{waiting ? `Loading ${things}…` : placeholder}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {error && <p className="field-error">Could not load the {things}: {error.message}</p>}
    </>
  );
}
