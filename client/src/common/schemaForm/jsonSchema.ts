/**
 * The part of JSON Schema our workflow inputs use (server/src/workflow/definitions.ts), and the checks the
 * server makes with Ajv, mirrored here so that people see what is wrong before they send it. The server
 * checks again: these are for the person, not for security.
 *
 * A form value is plain JSON as the person is editing it: every string present (possibly empty), every
 * array as its rows. `toInput` turns it into what the server expects: optional empty strings left out.
 */

export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };
/** Problems by dotted path ("companies.0.name"), "" for the whole input. */
export type FormErrors = Record<string, string>;

// The formats Ajv checks through ajv-formats ("fast" mode), as the server uses them.
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
const UUID = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

export function asSchema(value: unknown): JsonSchema | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonSchema) : null;
}

/** Whether a schema asks the person for anything at all (new_partner_user starts with no input). */
export function hasFields(schema: JsonSchema | null): boolean {
  return !!schema && schema.type === 'object' && Object.keys(schema.properties ?? {}).length > 0;
}

export function initialValue(schema: JsonSchema): FormValue {
  if (schema.type === 'object') {
    return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, property]) => [key, initialValue(property)]));
  }
  if (schema.type === 'array') {
    // A list that needs at least one row starts with one, ready to fill.
    return Array.from({ length: Math.max(schema.minItems ?? 0, 0) }, () => initialValue(schema.items ?? { type: 'string' }));
  }
  return '';
}

const joinPath = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

/** "organizationName" -> "Organization name". */
export function labelOf(key: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function checkString(schema: JsonSchema, value: string): string | null {
  if (schema.enum && !schema.enum.includes(value)) return `Choose one of: ${schema.enum.join(', ')}.`;
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    return schema.minLength === 1 ? 'Required.' : `At least ${schema.minLength} characters.`;
  }
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) return `At most ${schema.maxLength} characters.`;
  if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) {
    return schema.pattern === '\\S' ? 'Must not be blank.' : 'Not in the expected form.';
  }
  if (schema.format === 'email' && !EMAIL.test(value)) return 'Enter an email address, like name@example.com.';
  if (schema.format === 'uuid' && !UUID.test(value)) return 'Choose one.';
  return null;
}

/** Every problem of a form value against its schema, by path. Empty when it may be sent. */
export function validate(schema: JsonSchema, value: FormValue, path = '', errors: FormErrors = {}): FormErrors {
  if (schema.type === 'object') {
    const object = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as FormObject;
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      const child = object[key];
      const missing = child === undefined || child === '';
      if (missing) {
        // An enum or an id is picked from a list; the rest is typed.
        if (schema.required?.includes(key)) errors[joinPath(path, key)] = property.enum || property.format === 'uuid' ? 'Choose one.' : 'Required.';
        continue;
      }
      validate(property, child, joinPath(path, key), errors);
    }
  } else if (schema.type === 'array') {
    const rows = Array.isArray(value) ? value : [];
    if (schema.minItems !== undefined && rows.length < schema.minItems) {
      errors[path] = `Add at least ${schema.minItems} ${schema.minItems === 1 ? 'row' : 'rows'}.`;
    }
    if (schema.maxItems !== undefined && rows.length > schema.maxItems) errors[path] = `At most ${schema.maxItems} rows.`;
    rows.forEach((row, i) => validate(schema.items ?? {}, row, joinPath(path, i), errors));
  } else if (typeof value === 'string') {
    const problem = checkString(schema, value);
    if (problem) errors[path] = problem;
  }
  return errors;
}

/** The JSON to send: the value as edited, without the optional strings left empty. */
export function toInput(schema: JsonSchema, value: FormValue): unknown {
  if (schema.type === 'object') {
    const object = value as FormObject;
    const out: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      const child = object?.[key];
      if (child === undefined || (child === '' && !schema.required?.includes(key))) continue;
      out[key] = toInput(property, child);
    }
    return out;
  }
  if (schema.type === 'array') return (value as FormValue[]).map((row) => toInput(schema.items ?? {}, row));
  return value;
}

/** Reads the value at a dotted path. */
export function getAt(value: FormValue, path: string): FormValue | undefined {
  if (!path) return value;
  return path.split('.').reduce<FormValue | undefined>((at, key) => (at && typeof at === 'object' ? (at as Record<string, FormValue>)[key] : undefined), value);
}

/** A copy of `value` with the value at a dotted path replaced (immutably, for React state). */
export function setAt(value: FormValue, path: string, next: FormValue): FormValue {
  if (!path) return next;
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[Number(head)] = setAt(copy[Number(head)], tail, next);
    return copy;
  }
  const object = (value ?? {}) as FormObject;
  return { ...object, [head]: setAt(object[head], tail, next) };
}
