import { registerEnumType } from 'type-graphql';
import { ROLES, type Role } from '../config.js';

export { ROLES, type Role };

/** The roles of the contract, as a GraphQL enum. The string values are what tokens and rows store. */
export const RoleEnum = Object.fromEntries(ROLES.map((r) => [r, r])) as { [K in Role]: K };
registerEnumType(RoleEnum, {
  name: 'Role',
  description: 'What a person may do; the business units and organisation they belong to say where.',
});
