/**
 * The feed's $metadata: a CSDL (OData v4 XML) document of the entity sets in entitySets.ts, in namespace
 * `Plansync`. Made once: it depends on nothing but the definitions.
 */
import { ENTITY_SETS } from './entitySets.js';

const NAMESPACE = 'Plansync';

function entityType(set: (typeof ENTITY_SETS)[number]): string {
  const keys = set.key.map((k) => `<PropertyRef Name="${k}"/>`).join('');
  const properties = set.properties.map((p) => `<Property Name="${p.name}" Type="${p.type}" Nullable="${p.nullable}"/>`).join('');
  return `<EntityType Name="${set.typeName}"><Key>${keys}</Key>${properties}</EntityType>`;
}

let cached: string | undefined;

export function metadataXml(): string {
  cached ??=
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>' +
    `<Schema Namespace="${NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    ENTITY_SETS.map(entityType).join('') +
    `<EntityContainer Name="${NAMESPACE}">` +
    ENTITY_SETS.map((s) => `<EntitySet Name="${s.name}" EntityType="${NAMESPACE}.${s.typeName}"/>`).join('') +
    '</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>';
  return cached;
}
