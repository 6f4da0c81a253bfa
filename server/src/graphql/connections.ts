/** Relay-style pagination pieces shared by every connection: PageInfo and opaque cursors. */
import { Field, ObjectType } from 'type-graphql';
import { badUserInput } from '../errors.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** Cursors are opaque to clients: base64url of "<kind>:<id>". */
export function encodeCursor(kind: string, id: string | number | bigint): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

/** The numeric id inside a cursor of `kind`; BAD_USER_INPUT for anything else. */
export function decodeCursor(kind: string, cursor: string): string {
  const decoded = cursor.length <= 200 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = new RegExp(`^${kind}:(\\d{1,19})$`).exec(decoded);
  if (!match) throw badUserInput('after is not a cursor this query gave out', 'after');
  return match[1];
}
