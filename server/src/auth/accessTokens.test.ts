/**
 * Access tokens (`pst_…`) and service accounts against the real server: who may create, list and revoke them,
 * the token on every surface (GraphQL over HTTP and websockets, the grid), scopes, expiry, revocation closing
 * open sockets, a deactivated owner, what is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { CloseCode } from '../../../schema/codes.js';
import { hashAccessToken, newAccessTokenText } from './accessTokenSecrets.js';

describe('access tokens', () => {
  let server: TestServer;
  let docName: string;
  beforeAll(async () => {
    server = await startTestServer();
    const admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, admin);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
  });
  afterAll(() => server?.stop());

  /** A token inserted as a row, as the join point must take it before any mutation makes one. */
  async function insertedToken(email: string, scopes: string[], expires = "now() + interval '1 day'"): Promise<{ token: string; id: string }> {
    const token = newAccessTokenText();
    const [row] = await server.sql(
      `INSERT INTO access_token (id, owner_id, name, scopes, token_hash, expires_at)
       SELECT gen_random_uuid(), id, 'inserted', $2::text[], $3, ${expires} FROM app_user WHERE email = $1 RETURNING id`,
      [email, scopes, hashAccessToken(token)],
    );
    return { token, id: row.id };
  }

  describe('the join point (fromToken)', () => {
    it('takes an inserted token on POST /graphql, graphql-ws and the grid; an expired or malformed one is refused', async () => {
      const { token } = await insertedToken('lead.sales-north@example.com', ['READ', 'WRITE']);
      expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe('lead.sales-north@example.com');
      const ws = await graphqlSocket(server, token);
      const grid = await gridSocket(server, docName, token);
      expect([ws.first, grid.first]).toEqual(['connection_ack', 'message']);
      ws.socket.close();
      grid.socket.close();

      const expired = await insertedToken('lead.sales-north@example.com', ['READ', 'WRITE'], "now() - interval '1 second'");
      expect(errorCode(await server.gql('{ me { email } }', {}, expired.token))).toBe('UNAUTHENTICATED');
      expect((await graphqlSocket(server, expired.token)).first).toBe(`closed ${CloseCode.Unauthorized}`);
      expect(errorCode(await server.gql('{ me { email } }', {}, token.slice(0, -1)))).toBe('UNAUTHENTICATED');
      expect(errorCode(await server.gql('{ me { email } }', {}, 'pst_' + 'A'.repeat(43)))).toBe('UNAUTHENTICATED');
    });

    it('a READ token is refused every mutation (FORBIDDEN), over HTTP and graphql-ws', async () => {
      const { token } = await insertedToken('admin@example.com', ['READ']);
      expect(errorCode(await server.gql('mutation { signOut }', {}, token))).toBe('FORBIDDEN');
      const res = await server.gql('mutation($n: String!) { createBusinessUnit(code: "RO_UNIT", name: $n) { code } }', { n: 'x' }, token);
      expect(errorCode(res)).toBe('FORBIDDEN');
      // Reads still answer.
      expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe('admin@example.com');
    });
  });
});
