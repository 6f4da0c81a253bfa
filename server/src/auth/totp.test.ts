/**
 * Two-factor sign-in (contract v1.1 "People": TOTP) against a real server and database: enrolling, confirming
 * and turning it off as every role, wrong, replayed and drifted codes, `login` with and without a code, a wrong
 * password that answers exactly as any other, codes that cannot be guessed faster than passwords (the sign-in
 * limits), secrets that are not stored in the clear, accounts without a password refused, nobody acting on
 * anyone else's second factor but an admin's reset, the activity entries, and REQUIRE_TOTP_ROLES (a second
 * server with it set): a session that may only enrol until it has.
 *
 * Codes are computed with otplib from the secret the server hands out, at chosen moments (its `epoch`), as an
 * authenticator app would; `freshStep()` waits out the last seconds of a 30-second step first, so that a code
 * of "the previous step" is never two steps old by the time the server reads it.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../../schema/codes.js';
import { DEMO_PASSWORD } from '../seed.js';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';

const LOGIN = 'mutation($e: String!, $p: String!, $c: String) { login(email: $e, password: $p, totpCode: $c) { token user { email } } }';
const BEGIN = 'mutation { beginTotpEnrollment { secret otpauthUri } }';
const CONFIRM = 'mutation($c: String!) { confirmTotpEnrollment(code: $c) }';
const DISABLE = 'mutation($c: String!) { disableTotp(code: $c) }';
const RESET = 'mutation($id: ID!) { resetTotp(userId: $id) { id totpEnabled } }';
const ME = '{ me { id email totpEnabled totpEnrollmentRequired hasPassword } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { setPasswordUrl user { id } } }';
const SET_PASSWORD = 'mutation($t: String!, $p: String!, $c: String) { setPasswordWithToken(token: $t, password: $p, totpCode: $c) { token } }';
const PASSWORD = 'correct horse battery';
const STEP_SECONDS = 30;

const now = () => Math.floor(Date.now() / 1000);
/** The code an authenticator shows at `epoch` (seconds), by default now. */
const codeAt = (secret: string, epoch = now()) => generate({ secret, epoch });

/** Waits out the end of a 30-second step, so that the next few seconds stay in one step. */
async function freshStep(): Promise<void> {
  const into = (Date.now() / 1000) % STEP_SECONDS;
  if (into > STEP_SECONDS - 5) await new Promise((resolve) => setTimeout(resolve, (STEP_SECONDS - into + 0.2) * 1000));
}

/** A six-digit code that is valid in none of the steps the server accepts now. */
async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(await Promise.all([-STEP_SECONDS, 0, STEP_SECONDS].map((d) => codeAt(secret, now() + d))));
  return ['000000', '123456', '999999', '314159'].find((c) => !valid.has(c))!;
}

/** What a login answer says, minus source locations: what a client could compare. */
function answer(res: GraphQLResponse) {
  return { status: res.status, data: res.data ?? null, errors: res.errors?.map((e) => ({ message: e.message, extensions: e.extensions, path: e.path })) };
}

describe('two-factor sign-in (TOTP)', () => {
  let server: TestServer;
  let admin: string;
  let seq = 0;

  beforeAll(async () => {
    server = await startTestServer({ LOGIN_LOCKOUT_THRESHOLD: '3', LOGIN_LOCKOUT_SECONDS: '3600', LOGIN_FAILURES_PER_MINUTE: '100000' });
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  /** A new person with a password (a BU leader unless told), signed in. */
  async function newPerson(role = 'BU_LEADER', units = ['SALES_NORTH'], organizationId?: string) {
    seq += 1;
    const email = `totp${seq}@example.com`;
    const input = { email, displayName: `Totp ${seq}`, role, businessUnitCodes: units, organizationId };
    const created = await server.gql(CREATE_USER, { input }, admin);
    expect(created.errors).toBeUndefined();
    const set = await server.gql(SET_PASSWORD, { t: created.data.createUser.setPasswordUrl.split('#')[1], p: PASSWORD });
    expect(set.errors).toBeUndefined();
    return { id: created.data.createUser.user.id as string, email, token: set.data.setPasswordWithToken.token as string };
  }

  /** Enrols the token's person: begin, then confirm with a current code. The secret. */
  async function enrol(token: string): Promise<string> {
    const begun = await server.gql(BEGIN, {}, token);
    expect(begun.errors).toBeUndefined();
    const { secret } = begun.data.beginTotpEnrollment;
    await freshStep();
    const confirmed = await server.gql(CONFIRM, { c: await codeAt(secret) }, token);
    expect(confirmed.errors).toBeUndefined();
    expect(confirmed.data.confirmTotpEnrollment).toBe(true);
    return secret;
  }

  async function activity(action: string, subject: string) {
    const res = await server.gql('query($a: String) { activityLog(first: 50, action: $a) { edges { node { action actor { email } subject details } } } }', { a: action }, admin);
    expect(res.errors).toBeUndefined();
    return res.data.activityLog.edges.map((e: any) => e.node).filter((n: any) => n.subject === subject);
  }

  it('enrols: begin gives a secret and its otpauth URI and turns nothing on; confirm with a code turns it on, with an activity entry', async () => {
    const person = await newPerson();
    const begun = await server.gql(BEGIN, {}, person.token);
    expect(begun.errors).toBeUndefined();
    const { secret, otpauthUri } = begun.data.beginTotpEnrollment;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(decodeURIComponent(otpauthUri).startsWith(`otpauth://totp/Plansync:${person.email}?`)).toBe(true);
    expect(otpauthUri).toContain(`secret=${secret}`);
    expect(otpauthUri).toContain('issuer=Plansync');

    // Begun, not confirmed: still off, and signing in needs no code.
    expect((await server.gql(ME, {}, person.token)).data.me).toMatchObject({ totpEnabled: false, totpEnrollmentRequired: false, hasPassword: true });
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD })).errors).toBeUndefined();
    // The secret is not stored in the clear.
    const [row] = await server.sql('SELECT totp_secret, totp_pending_secret, totp_enabled_at FROM app_user WHERE id = $1', [person.id]);
    expect(row.totp_secret).toBeNull();
    expect(row.totp_enabled_at).toBeNull();
    expect(row.totp_pending_secret).toBeTruthy();
    expect(row.totp_pending_secret).not.toContain(secret);

    // A wrong code: BAD_USER_INPUT, still off.
    const wrong = await server.gql(CONFIRM, { c: await wrongCode(secret) }, person.token);
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(false);
    // Not six digits: BAD_USER_INPUT too.
    expect(errorCode(await server.gql(CONFIRM, { c: 'abcdef' }, person.token))).toBe('BAD_USER_INPUT');

    await freshStep();
    const confirmed = await server.gql(CONFIRM, { c: await codeAt(secret) }, person.token);
    expect(confirmed.errors).toBeUndefined();
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(true);
    const [after] = await server.sql('SELECT totp_secret, totp_pending_secret FROM app_user WHERE id = $1', [person.id]);
    expect(after.totp_pending_secret).toBeNull();
    expect(after.totp_secret).toBeTruthy();
    expect(after.totp_secret).not.toContain(secret);
    // Admins see it in `users`.
    const users = await server.gql('{ users { email totpEnabled } }', {}, admin);
    expect(users.data.users.find((u: any) => u.email === person.email).totpEnabled).toBe(true);
    expect(users.data.users.find((u: any) => u.email === 'admin@example.com').totpEnabled).toBe(false);

    const [entry] = await activity('TOTP_ENABLED', person.email);
    expect(entry).toMatchObject({ action: 'TOTP_ENABLED', actor: { email: person.email }, subject: person.email });

    // Already on: a new enrolment must wait until it is turned off.
    expect(errorCode(await server.gql(BEGIN, {}, person.token))).toBe('CONFLICT');
  });

  it('a confirmed enrolment ends the person\'s other sessions; the one that confirmed carries on', async () => {
    const person = await newPerson();
    const other = (await server.gql(LOGIN, { e: person.email, p: PASSWORD })).data.login.token;
    const otherSocket = await graphqlSocket(server, other);
    expect(otherSocket.first).toBe('connection_ack');
    await enrol(person.token);
    expect(await otherSocket.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, other))).toBe('UNAUTHENTICATED');
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(true);
  });

  it('login: a right password without a code answers totpRequired; with a valid code it signs in; a wrong or replayed code does not', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);

    const noCode = await server.gql(LOGIN, { e: person.email, p: PASSWORD });
    expect(noCode.data).toBeNull();
    expect(noCode.errors).toHaveLength(1);
    expect(noCode.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    const emptyCode = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: '' });
    expect(emptyCode.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });

    const wrong = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await wrongCode(secret) });
    expect(wrong.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });

    // The code that confirmed the enrolment is used up already; the next step's code is not.
    await freshStep();
    const next = await codeAt(secret, now() + STEP_SECONDS);
    const ok = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: next });
    expect(ok.errors).toBeUndefined();
    expect((await server.gql(ME, {}, ok.data.login.token)).data.me.email).toBe(person.email);
    // The same code again (replay), and any code of an earlier step: refused.
    const replay = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: next });
    expect(replay.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    const earlier = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret) });
    expect(earlier.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    // Spaces as people type them are fine (a fresh person, so that no step is used up yet).
    const spaced = await newPerson();
    const spacedSecret = await enrol(spaced.token);
    await freshStep();
    const c = await codeAt(spacedSecret, now() + STEP_SECONDS);
    expect((await server.gql(LOGIN, { e: spaced.email, p: PASSWORD, c: `${c.slice(0, 3)} ${c.slice(3)}` })).errors).toBeUndefined();
  });

  it('allows one 30-second step of drift either way, and no more', async () => {
    const person = await newPerson();
    const begun = await server.gql(BEGIN, {}, person.token);
    const { secret } = begun.data.beginTotpEnrollment;
    await freshStep();
    // Two steps behind or ahead: refused, for confirming and for signing in.
    expect(errorCode(await server.gql(CONFIRM, { c: await codeAt(secret, now() - 2 * STEP_SECONDS) }, person.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CONFIRM, { c: await codeAt(secret, now() + 2 * STEP_SECONDS) }, person.token))).toBe('BAD_USER_INPUT');
    // One step behind: accepted (and that step used up).
    expect((await server.gql(CONFIRM, { c: await codeAt(secret, now() - STEP_SECONDS) }, person.token)).errors).toBeUndefined();
    await freshStep();
    const far = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret, now() + 2 * STEP_SECONDS) });
    expect(far.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    // The current step, then one step ahead: each accepted once.
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret) })).errors).toBeUndefined();
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret, now() + STEP_SECONDS) })).errors).toBeUndefined();
  });

  it('a wrong password with TOTP on answers exactly like any wrong password, with or without a code', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);
    const plain = await newPerson();
    const reference = answer(await server.gql(LOGIN, { e: plain.email, p: 'not the password' }));
    expect(reference.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(answer(await server.gql(LOGIN, { e: person.email, p: 'not the password' }))).toEqual(reference);
    expect(answer(await server.gql(LOGIN, { e: person.email, p: 'not the password', c: await codeAt(secret) }))).toEqual(reference);
    expect(answer(await server.gql(LOGIN, { e: 'nobody@example.com', p: 'not the password', c: '123456' }))).toEqual(reference);
    // Those failures count (threshold 3): one more good sign-in clears them.
    await freshStep();
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret, now() + STEP_SECONDS) })).errors).toBeUndefined();
  });

  it('wrong codes count toward the sign-in lock like wrong passwords: then even the right code is refused, as any failure', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);
    const wrong = await wrongCode(secret);
    for (let i = 0; i < 3; i++) {
      const res = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: wrong });
      expect(res.errors![0].extensions, `attempt ${i + 1}`).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    }
    // Locked for this address: the right password and code answer like a wrong password, and nothing is used up.
    await freshStep();
    const locked = await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret, now() + STEP_SECONDS) });
    const plain = answer(await server.gql(LOGIN, { e: 'nobody@example.com', p: 'x' }));
    expect(answer(locked)).toEqual(plain);
    const seen = await server.gql('{ users { id lockedUntil } }', {}, admin);
    expect(seen.data.users.find((u: any) => u.id === person.id).lockedUntil).not.toBeNull();
    // Asking without a code is no way round the lock either.
    expect(answer(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toEqual(plain);

    // An admin lifts it; the code works again.
    expect((await server.gql('mutation($id: ID!) { unlockUser(userId: $id) { id } }', { id: person.id }, admin)).errors).toBeUndefined();
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD, c: await codeAt(secret, now() + STEP_SECONDS) })).errors).toBeUndefined();
  });

  it('wrong codes to confirm or turn off count as well: locked, even a right code is refused', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);
    const wrong = await wrongCode(secret);
    for (let i = 0; i < 3; i++) expect(errorCode(await server.gql(DISABLE, { c: wrong }, person.token))).toBe('BAD_USER_INPUT');
    await freshStep();
    expect(errorCode(await server.gql(DISABLE, { c: await codeAt(secret, now() + STEP_SECONDS) }, person.token))).toBe('BAD_USER_INPUT');
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(true);

    const other = await newPerson();
    const begun = await server.gql(BEGIN, {}, other.token);
    const otherSecret = begun.data.beginTotpEnrollment.secret;
    const otherWrong = await wrongCode(otherSecret);
    for (let i = 0; i < 3; i++) expect(errorCode(await server.gql(CONFIRM, { c: otherWrong }, other.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CONFIRM, { c: await codeAt(otherSecret) }, other.token))).toBe('BAD_USER_INPUT');
    expect((await server.gql(ME, {}, other.token)).data.me.totpEnabled).toBe(false);
  });

  it('disableTotp needs a valid, unused code; it forgets the secret and writes TOTP_DISABLED', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);
    // The code that confirmed it is used up.
    expect(errorCode(await server.gql(DISABLE, { c: await codeAt(secret) }, person.token))).toBe('BAD_USER_INPUT');
    await freshStep();
    const res = await server.gql(DISABLE, { c: await codeAt(secret, now() + STEP_SECONDS) }, person.token);
    expect(res.errors).toBeUndefined();
    expect(res.data.disableTotp).toBe(true);
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(false);
    const [row] = await server.sql('SELECT totp_secret, totp_enabled_at, totp_last_step FROM app_user WHERE id = $1', [person.id]);
    expect(row).toEqual({ totp_secret: null, totp_enabled_at: null, totp_last_step: null });
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD })).errors).toBeUndefined();
    const [entry] = await activity('TOTP_DISABLED', person.email);
    expect(entry).toMatchObject({ actor: { email: person.email }, details: { by: 'self' } });
    // Not on: nothing to turn off.
    expect(errorCode(await server.gql(DISABLE, { c: '123456' }, person.token))).toBe('BAD_USER_INPUT');
  });

  it('every role enrols for itself; nobody turns off anyone else\'s, and only admins reset it (recorded)', async () => {
    for (const email of ['admin@example.com', 'analyst@example.com', 'lead.marketing@example.com', 'viewer.finance@example.com', 'partner.admin@acme.example']) {
      // The admin enrols with the session the other tests use: confirming ends the person's other sessions.
      const token = email === 'admin@example.com' ? admin : await server.login(email);
      const secret = await enrol(token);
      expect((await server.gql(ME, {}, token)).data.me.totpEnabled, email).toBe(true);
      await freshStep();
      const back = await server.gql(DISABLE, { c: await codeAt(secret, now() + STEP_SECONDS) }, token);
      expect(back.errors, email).toBeUndefined();
    }
    // PARTNER_USER, the one role the demo has nobody of.
    const [acme] = await server.sql<{ id: string }>(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
    const partnerUser = await newPerson('PARTNER_USER', [], acme.id);
    await enrol(partnerUser.token);
    expect((await server.gql(ME, {}, partnerUser.token)).data.me.totpEnabled).toBe(true);

    const person = await newPerson('VIEWER', ['MARKETING']);
    const secret = await enrol(person.token);
    // disableTotp acts on the caller only: an admin holding the person's code turns off nothing of theirs.
    await freshStep();
    expect(errorCode(await server.gql(DISABLE, { c: await codeAt(secret, now() + STEP_SECONDS) }, admin))).toBe('BAD_USER_INPUT');
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(true);

    // resetTotp: FORBIDDEN to every other role (NOT_FOUND for who may not even read the person), nothing changes.
    for (const email of ['analyst@example.com', 'lead.marketing@example.com', 'viewer.marketing@example.com', 'partner.admin@acme.example']) {
      const token = await server.login(email);
      const refused = await server.gql(RESET, { id: person.id }, token);
      expect(['FORBIDDEN', 'NOT_FOUND'], email).toContain(errorCode(refused));
      expect(refused.data).toBeNull();
      const self = (await server.gql(ME, {}, token)).data.me.id;
      expect(errorCode(await server.gql(RESET, { id: self }, token)), `${email} on themselves`).toBe('FORBIDDEN');
    }
    expect(errorCode(await server.gql(RESET, { id: person.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(RESET, { id: 'not-an-id' }, admin))).toBe('NOT_FOUND');
    // Others read no one's totpEnabled but their own.
    const lead = await server.login('lead.sales-north@example.com');
    const users = await server.gql('{ users { email totpEnabled } }', {}, lead);
    expect(users.data.users).toEqual([{ email: 'lead.sales-north@example.com', totpEnabled: false }]);
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(true);

    // A lost phone: an admin resets it; the person signs in with the password alone.
    const reset = await server.gql(RESET, { id: person.id }, admin);
    expect(reset.errors).toBeUndefined();
    expect(reset.data.resetTotp).toEqual({ id: person.id, totpEnabled: false });
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD })).errors).toBeUndefined();
    const [entry] = await activity('TOTP_DISABLED', person.email);
    expect(entry).toMatchObject({ actor: { email: 'admin@example.com' }, details: { by: 'admin', wasOn: true } });
  });

  it('deleting a person forgets their two-factor secrets with their password', async () => {
    const person = await newPerson();
    await enrol(person.token);
    expect((await server.gql('mutation($id: ID!) { deleteUser(userId: $id) }', { id: person.id }, admin)).errors).toBeUndefined();
    const [row] = await server.sql('SELECT password_hash, totp_secret, totp_enabled_at, totp_pending_secret FROM app_user WHERE id = $1', [person.id]);
    expect(row).toEqual({ password_hash: null, totp_secret: null, totp_enabled_at: null, totp_pending_secret: null });
  });

  it('accounts without a password (Microsoft, service accounts) cannot enrol: BAD_USER_INPUT', async () => {
    const rows = await server.sql<{ id: string }>(
      `INSERT INTO app_user (id, email, display_name, role, entra_object_id) VALUES (gen_random_uuid(), 'entra.person@example.com', 'Entra Person', 'VIEWER', 'oid-1'),
                                                                                   (gen_random_uuid(), 'robot@example.com', 'Robot', 'ANALYST', null) RETURNING id`,
    );
    await server.sql(`UPDATE app_user SET kind = 'SERVICE' WHERE email = 'robot@example.com'`);
    for (const { id } of rows) {
      const token = await server.app.services.tokens.sign(id);
      expect((await server.gql(ME, {}, token)).data.me).toMatchObject({ hasPassword: false, totpEnabled: false, totpEnrollmentRequired: false });
      const res = await server.gql(BEGIN, {}, token);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0].message).toMatch(/password/);
      expect(errorCode(await server.gql(CONFIRM, { c: '123456' }, token))).toBe('BAD_USER_INPUT');
      const [row] = await server.sql('SELECT totp_pending_secret FROM app_user WHERE id = $1', [id]);
      expect(row.totp_pending_secret).toBeNull();
    }
    for (const [query, variables] of [[BEGIN, {}], [CONFIRM, { c: '123456' }], [DISABLE, { c: '123456' }]] as const) {
      expect(errorCode(await server.gql(query, variables)), query).toBe('UNAUTHENTICATED');
    }
  });

  it('an enrolment not confirmed within 30 minutes must be begun again', async () => {
    const person = await newPerson();
    const begun = await server.gql(BEGIN, {}, person.token);
    const { secret } = begun.data.beginTotpEnrollment;
    await server.sql(`UPDATE app_user SET totp_pending_at = now() - interval '31 minutes' WHERE id = $1`, [person.id]);
    const late = await server.gql(CONFIRM, { c: await codeAt(secret) }, person.token);
    expect(errorCode(late)).toBe('BAD_USER_INPUT');
    expect(late.errors![0].message).toMatch(/Begin the enrolment/);
    expect((await server.gql(ME, {}, person.token)).data.me.totpEnabled).toBe(false);
  });

  it('a stored secret is bound to its row: copied onto another person, it opens nothing', async () => {
    const owner = await newPerson();
    const secret = await enrol(owner.token);
    const other = await newPerson();
    await enrol(other.token);
    await server.sql(
      `UPDATE app_user SET totp_secret = (SELECT totp_secret FROM app_user WHERE id = $1), totp_last_step = NULL WHERE id = $2`,
      [owner.id, other.id],
    );
    await freshStep();
    const res = await server.gql(LOGIN, { e: other.email, p: PASSWORD, c: await codeAt(secret, now() + STEP_SECONDS) });
    expect(res.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
  });

  it('a password reset keeps TOTP: the set-password link asks for the code, and changes nothing without it', async () => {
    const person = await newPerson();
    const secret = await enrol(person.token);
    const reset = await server.gql('mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl } }', { id: person.id }, admin);
    const link = reset.data.resetPassword.setPasswordUrl.split('#')[1];
    const without = await server.gql(SET_PASSWORD, { t: link, p: 'a brand new secret' });
    expect(without.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
    const [row] = await server.sql('SELECT password_hash FROM app_user WHERE id = $1', [person.id]);
    expect(row.password_hash).toBeNull();
    await freshStep();
    const withCode = await server.gql(SET_PASSWORD, { t: link, p: 'a brand new secret', c: await codeAt(secret, now() + STEP_SECONDS) });
    expect(withCode.errors).toBeUndefined();
    expect((await server.gql(ME, {}, withCode.data.setPasswordWithToken.token)).data.me.totpEnabled).toBe(true);
  });
});

describe('REQUIRE_TOTP_ROLES', () => {
  let server: TestServer;
  let docName: string;

  beforeAll(async () => {
    server = await startTestServer({ REQUIRE_TOTP_ROLES: 'ADMIN, analyst,PARTNER_ADMIN', LOGIN_FAILURES_PER_MINUTE: '100000' });
  });
  afterAll(() => server?.stop());

  it('a required role signs in, but may only enrol until it has; then the same session does everything', async () => {
    const token = await server.login('analyst@example.com');
    const me = await server.gql(ME, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ email: 'analyst@example.com', totpEnabled: false, totpEnrollmentRequired: true });

    const mutation = 'mutation { createBusinessUnit(code: "NEVER_MADE", name: "Never") { code } }';
    for (const query of ['{ budgetPlans { id } }', '{ users { email } }', '{ auditLog(first: 1) { edges { cursor } } }', mutation]) {
      const res = await server.gql(query, {}, token);
      expect(res.errors?.[0].extensions, query).toEqual({ code: 'FORBIDDEN', totpEnrollmentRequired: true });
      expect(res.errors![0].message).toMatch(/two-factor/);
    }
    // Neither grid nor GraphQL sockets take the token.
    const adminToken = await enrolAdmin();
    const plans = await server.gql('{ budgetPlans { id } }', {}, adminToken);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
    expect((await gridSocket(server, docName, token)).first).toBe(`closed ${CloseCode.Unauthorized}`);
    expect((await graphqlSocket(server, token)).first).toBe(`closed ${CloseCode.Unauthorized}`);

    const begun = await server.gql(BEGIN, {}, token);
    expect(begun.errors).toBeUndefined();
    await freshStep();
    const confirmed = await server.gql(CONFIRM, { c: await codeAt(begun.data.beginTotpEnrollment.secret) }, token);
    expect(confirmed.errors).toBeUndefined();
    expect((await server.gql(ME, {}, token)).data.me).toMatchObject({ totpEnabled: true, totpEnrollmentRequired: false });
    expect((await server.gql('{ budgetPlans { id } }', {}, token)).errors).toBeUndefined();
    expect((await gridSocket(server, docName, token)).first).toBe('message');
  });

  it("what the open fields lead to stays the person's own: their organisation's people, companies and groups are gated too", async () => {
    const nested = 'organization { name users { email } studioCompanies { name } systemGroups { name } }';
    const login = await server.gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email ${nested} } } }`, {
      e: 'partner.admin@acme.example',
      p: DEMO_PASSWORD,
    });
    // The organisation (nullable) is what gives way: nothing of its people, companies or groups comes out.
    expect(login.data.login.user).toEqual({ email: 'partner.admin@acme.example', organization: null });
    expect(login.errors!.map((e) => e.extensions)).toContainEqual({ code: 'FORBIDDEN', totpEnrollmentRequired: true });
    const token = await server.login('partner.admin@acme.example');
    const me = await server.gql(`{ me { email ${nested} } }`, {}, token);
    expect(me.data.me).toEqual({ email: 'partner.admin@acme.example', organization: null });
    expect(me.errors!.length).toBeGreaterThan(0);
    for (const e of me.errors!) {
      expect(e.path?.join('.')).toMatch(/^me\.organization\.(users|studioCompanies|systemGroups)$/);
      expect(e.extensions).toEqual({ code: 'FORBIDDEN', totpEnrollmentRequired: true });
    }
    // Each of the three on its own, too.
    for (const field of ['users { email }', 'studioCompanies { name }', 'systemGroups { name }']) {
      const one = await server.gql(`{ me { organization { ${field} } } }`, {}, token);
      expect(one.errors?.[0].extensions, field).toEqual({ code: 'FORBIDDEN', totpEnrollmentRequired: true });
    }
    // Their own row, organisation's name included, is theirs to read.
    const own = await server.gql('{ me { email totpEnrollmentRequired organization { name } businessUnits { code } can { manageUsers } } }', {}, token);
    expect(own.errors).toBeUndefined();
    expect(own.data.me).toMatchObject({ email: 'partner.admin@acme.example', totpEnrollmentRequired: true, organization: { name: 'Acme Partners' } });
  });

  it('other roles are not required; signOut works for a restricted session', async () => {
    const viewer = await server.login('viewer.sales-north@example.com');
    expect((await server.gql(ME, {}, viewer)).data.me.totpEnrollmentRequired).toBe(false);
    expect((await server.gql('{ budgetPlans { id } }', {}, viewer)).errors).toBeUndefined();
  });

  it('a person whose role becomes a required one is restricted at once: requests refused, open sockets closed', async () => {
    const adminToken = await enrolAdmin();
    const lead = await server.login('lead.sales-south@example.com');
    const socket = await graphqlSocket(server, lead);
    expect(socket.first).toBe('connection_ack');
    const leadId = (await server.gql(ME, {}, lead)).data.me.id;
    const promoted = await server.gql('mutation($id: ID!) { setUserAccess(userId: $id, role: ANALYST, businessUnitCodes: []) { id } }', { id: leadId }, adminToken);
    expect(promoted.errors).toBeUndefined();
    expect([CloseCode.Unauthorized, CloseCode.Forbidden]).toContain(await socket.closed);
    const res = await server.gql('{ budgetPlans { id } }', {}, lead);
    expect(res.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', totpEnrollmentRequired: true });
    expect((await server.gql('mutation { signOut }', {}, lead)).data.signOut).toBe(true);
    expect(errorCode(await server.gql(ME, {}, lead))).toBe('UNAUTHENTICATED');
  });

  /** The admin, enrolled once (required here) and signed in with a code: a token that may do everything. */
  let adminSession: Promise<string> | undefined;
  function enrolAdmin(): Promise<string> {
    return (adminSession ??= (async () => {
      const token = await server.login('admin@example.com');
      const begun = await server.gql(BEGIN, {}, token);
      expect(begun.errors).toBeUndefined();
      await freshStep();
      expect((await server.gql(CONFIRM, { c: await codeAt(begun.data.beginTotpEnrollment.secret) }, token)).errors).toBeUndefined();
      const res = await server.gql(LOGIN, { e: 'admin@example.com', p: DEMO_PASSWORD });
      expect(res.errors?.[0].extensions).toEqual({ code: 'UNAUTHENTICATED', totpRequired: true });
      return token;
    })());
  }
});
