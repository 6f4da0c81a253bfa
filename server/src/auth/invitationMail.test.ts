/**
 * Set-password links by e-mail (auth/invitationMail.ts), against a real SMTP server: smtp-server listening on
 * a free port, with authentication, in this process. What it receives is parsed from the raw message, as a
 * mail client would read it. The server under test is a whole Plansync with SMTP_URL and SMTP_FROM set.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { INVITATION_SUBJECTS } from './invitationMail.js';

const CREATE = `mutation($email: String!, $name: String!) {
  createUser(input: { email: $email, displayName: $name, role: VIEWER, businessUnitCodes: ["FINANCE"] }) { setPasswordUrl emailSent user { id email } }
}`;
const RESET = `mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl emailSent user { email } } }`;
const SET_PASSWORD = `mutation($t: String!, $p: String!) { setPasswordWithToken(token: $t, password: $p) { user { email } } }`;
/** An address the SMTP server refuses, as a full mailbox or a typo would be. */
const BOUNCING = 'bounces@example.com';

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** The headers and the (quoted-printable decoded) text of a plain-text message. */
function parse(raw: string) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = rest.join('\n\n');
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex) => String.fromCharCode(parseInt(hex, 16)));
  }
  return { headers, body };
}

describe('set-password links by e-mail', () => {
  let smtp: SMTPServer;
  let port: number;
  const received: Received[] = [];
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'], // plain SMTP on loopback: no certificate to make
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mailer' && auth.password === 's3cret pass') return callback(null, { user: auth.username });
        callback(new Error('Invalid username or password'));
      },
      onRcptTo(address, _session, callback) {
        if (address.address === BOUNCING) return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
    server = await startTestServer({
      SMTP_URL: `smtp://mailer:${encodeURIComponent('s3cret pass')}@127.0.0.1:${port}`,
      SMTP_FROM: 'Plansync <plansync@example.com>',
      PUBLIC_URL: 'https://plansync.example.com',
    });
    admin = await server.login('admin@example.com');
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('createUser mails the person their link, after the commit; the admin still sees it once', async () => {
    const before = received.length;
    const res = await server.gql(CREATE, { email: 'New.Person@example.com', name: 'Nora Person' }, admin);
    expect(res.errors).toBeUndefined();
    const { setPasswordUrl, emailSent } = res.data.createUser;
    expect(emailSent).toBe(true);
    expect(setPasswordUrl).toMatch(/^https:\/\/plansync\.example\.com\/set-password#[A-Za-z0-9_-]{43}$/);

    expect(received).toHaveLength(before + 1);
    const mail = received.at(-1)!;
    expect(mail.user).toBe('mailer'); // SMTP_URL's credentials were used
    expect(mail.from).toBe('plansync@example.com');
    expect(mail.to).toEqual(['new.person@example.com']);
    const { headers, body } = parse(mail.raw);
    expect(headers.to).toBe('Nora Person <new.person@example.com>');
    expect(headers.from).toBe('Plansync <plansync@example.com>');
    expect(headers.subject).toBe(INVITATION_SUBJECTS.CREATED);
    expect(body).toContain('Hello Nora Person,');
    expect(body.split(/\r?\n/)).toContain(setPasswordUrl);

    // The link in the mail is the one that works.
    const link = body.split(/\r?\n/).find((line) => line.startsWith('https://'))!;
    const set = await server.gql(SET_PASSWORD, { t: link.split('#')[1], p: 'a long enough password' });
    expect(set.errors).toBeUndefined();
    expect(set.data.setPasswordWithToken.user.email).toBe('new.person@example.com');
  });

  it('resetPassword mails the new link', async () => {
    const created = await server.gql(CREATE, { email: 'reset.me@example.com', name: 'Rita Reset' }, admin);
    const id = created.data.createUser.user.id;
    const before = received.length;
    const res = await server.gql(RESET, { id }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.resetPassword.emailSent).toBe(true);
    expect(received).toHaveLength(before + 1);
    const { headers, body } = parse(received.at(-1)!.raw);
    expect(headers.to).toBe('Rita Reset <reset.me@example.com>');
    expect(headers.subject).toBe(INVITATION_SUBJECTS.RESET);
    expect(body.split(/\r?\n/)).toContain(res.data.resetPassword.setPasswordUrl);
    // A new link, not the one mailed at creation.
    expect(res.data.resetPassword.setPasswordUrl).not.toBe(created.data.createUser.setPasswordUrl);
  });

  it('a mail the server refuses undoes nothing: the person exists, the link works, the answer says it was not sent', async () => {
    const before = received.length;
    const res = await server.gql(CREATE, { email: BOUNCING, name: 'Bo Unce' }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.createUser.emailSent).toBe(false);
    expect(received).toHaveLength(before);
    expect(await server.sql(`SELECT count(*)::int AS n FROM app_user WHERE email = $1`, [BOUNCING])).toEqual([{ n: 1 }]);
    const [entry] = await server.sql(`SELECT action FROM activity_entry WHERE subject = $1`, [BOUNCING]);
    expect(entry).toEqual({ action: 'USER_CREATED' });
    const set = await server.gql(SET_PASSWORD, { t: res.data.createUser.setPasswordUrl.split('#')[1], p: 'a long enough password' });
    expect(set.errors).toBeUndefined();
  });

  it('mails nothing for a refused or failed invitation', async () => {
    const before = received.length;
    // An email already taken: BAD_USER_INPUT, rolled back, nothing mailed.
    expect(errorCode(await server.gql(CREATE, { email: 'new.person@example.com', name: 'Again' }, admin))).toBe('BAD_USER_INPUT');
    // Not an admin: FORBIDDEN, nothing mailed.
    const analyst = await server.login('analyst@example.com');
    expect(errorCode(await server.gql(CREATE, { email: 'sneaky@example.com', name: 'Sneaky' }, analyst))).toBe('FORBIDDEN');
    expect(received).toHaveLength(before);
  });
});

describe('SMTP configuration', () => {
  it('needs SMTP_FROM with SMTP_URL, an smtp or smtps URL, and never repeats the password in its refusal', () => {
    const base = { DATA_DIR: '/tmp/plansync-config-test' };
    expect(loadConfig(base).smtp).toBeUndefined();
    expect(loadConfig({ ...base, SMTP_URL: 'smtps://u:p@mail.example.com:465', SMTP_FROM: 'Plansync <p@example.com>' }).smtp).toEqual({
      url: 'smtps://u:p@mail.example.com:465',
      from: 'Plansync <p@example.com>',
    });
    expect(() => loadConfig({ ...base, SMTP_URL: 'smtp://u:hunter2@mail.example.com:587' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SMTP_FROM: 'p@example.com' })).toThrow(/SMTP_URL/);
    for (const url of ['http://u:hunter2@mail.example.com', 'not a url hunter2']) {
      let message = '';
      try {
        loadConfig({ ...base, SMTP_URL: url, SMTP_FROM: 'p@example.com' });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/SMTP_URL/);
      expect(message).not.toContain('hunter2');
    }
  });

  it('without SMTP_URL, invitations are not mailed: emailSent is null', async () => {
    const server = await startTestServer();
    try {
      const admin = await server.login('admin@example.com');
      const res = await server.gql(CREATE, { email: 'nomail@example.com', name: 'No Mail' }, admin);
      expect(res.errors).toBeUndefined();
      expect(res.data.createUser.emailSent).toBeNull();
    } finally {
      await server.stop();
    }
  });
});
