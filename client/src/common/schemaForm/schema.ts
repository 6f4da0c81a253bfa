/**
 * The JSON schemas our workflow inputs use (server/src/workflow/definitions.ts), as the form reads them:
 * what a schema asks for, what its fields are called, and the part of a schema at a path. The form itself,
 * its checks and its look are @rjsf/core's (SchemaForm.tsx); this module only answers questions about a schema.
 */
import type { RJSFSchema } from '@rjsf/utils';

export type JsonSchema = RJSFSchema;

/** A schema given as JSON (a GraphQL `JSON` field), or null when it is not an object. */
export function asSchema(value: unknown): JsonSchema | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonSchema) : null;
}

/** Whether a schema asks the person for anything at all (new_partner_user starts with no input). */
export function hasFields(schema: JsonSchema | null): boolean {
  return !!schema && schema.type === 'object' && Object.keys(schema.properties ?? {}).length > 0;
}

/** A field's name as people read it: its schema's title, or its key in words ("organizationName" -> "Organization name"). */
export function labelOf(key: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The schema of the value at a path (property names and row indexes), or undefined past what the schema says. */
export function schemaAt(schema: JsonSchema, path: readonly (string | number)[]): JsonSchema | undefined {
  let at: JsonSchema | undefined = schema;
  for (const segment of path) {
    if (!at) return undefined;
    const next: unknown = at.type === 'array' ? at.items : at.properties?.[String(segment)];
    at = next && typeof next === 'object' && !Array.isArray(next) ? (next as JsonSchema) : undefined;
  }
  return at;
}
