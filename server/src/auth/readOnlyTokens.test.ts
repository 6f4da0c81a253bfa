/**
 * A READ access token is refused every mutation, in one place (graphql/policyGuard.ts): each Mutation field of
 * the schema as served, called with a READ token's viewer, answers FORBIDDEN before its resolver runs (so no
 * argument is needed to reach the refusal), and a mutation added later cannot forget it. accessTokens.test.ts
 * shows the same over HTTP and graphql-ws against the real server.
 */
import { describe, expect, it } from 'vitest';
import type { GraphQLError, GraphQLResolveInfo } from 'graphql';
import { createPlansyncBus } from '../events.js';
import { buildPlansyncSchema } from '../schema.js';
import type { Viewer } from '../policies/viewer.js';
import { ErrorCode } from '../../../schema/codes.js';

const owner: Omit<Viewer, 'tokenScopes'> = {
  userId: '00000000-0000-4000-8000-000000000001',
  email: 'admin@example.com',
  role: 'ADMIN',
  unitIds: new Set(),
  organizationId: null,
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  tokenId: '00000000-0000-4000-8000-000000000002',
};

async function outcome(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'answered';
  } catch (err) {
    return String((err as GraphQLError).extensions?.code ?? (err as Error).message);
  }
}

describe('a READ access token', () => {
  it('is refused every mutation with FORBIDDEN, before the resolver runs', async () => {
    const schema = await buildPlansyncSchema(createPlansyncBus());
    const fields = Object.values(schema.getMutationType()!.getFields());
    expect(fields.length).toBeGreaterThan(20);
    const context = { viewer: { ...owner, tokenScopes: ['READ'] } satisfies Viewer };
    const answers = await Promise.all(
      fields.map(async (field) => [field.name, await outcome(() => field.resolve!(undefined, {}, context, {} as GraphQLResolveInfo))] as const),
    );
    expect(answers.filter(([, code]) => code !== ErrorCode.FORBIDDEN)).toEqual([]);

    // The refusal is the scope's: the same call with a WRITE token reaches the resolver (which then fails
    // here for want of services, with something else than FORBIDDEN).
    const write = { viewer: { ...owner, tokenScopes: ['READ', 'WRITE'] } satisfies Viewer };
    const signOut = schema.getMutationType()!.getFields().signOut;
    expect(await outcome(() => signOut.resolve!(undefined, {}, write, {} as GraphQLResolveInfo))).not.toBe(ErrorCode.FORBIDDEN);
  });
});
