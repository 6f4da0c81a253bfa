/** How /odata and /export read a token from a request: Bearer, or Basic's password whatever the user name. */
import { describe, expect, it } from 'vitest';
import { requestToken, tokenFromAuthorization } from './credentials.js';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('tokenFromAuthorization', () => {
  it('reads a Bearer token', () => {
    expect(tokenFromAuthorization('Bearer pst_abc')).toBe('pst_abc');
    expect(tokenFromAuthorization('bearer  eyJ.x.y ')).toBe('eyJ.x.y');
  });

  it("reads Basic's password as the token, whatever the user name, colons in the password included", () => {
    expect(tokenFromAuthorization(basic('anything:pst_secret'))).toBe('pst_secret');
    expect(tokenFromAuthorization(basic(':pst_secret'))).toBe('pst_secret');
    expect(tokenFromAuthorization(basic('user:pa:ss'))).toBe('pa:ss');
    expect(requestToken({ headers: { authorization: basic('excel:pst_x') } })).toBe('pst_x');
  });

  it('gives null for no credentials, an empty password, no colon, other schemes', () => {
    expect(tokenFromAuthorization(undefined)).toBeNull();
    expect(tokenFromAuthorization('')).toBeNull();
    expect(tokenFromAuthorization(basic('user:'))).toBeNull();
    expect(tokenFromAuthorization(basic('justtext'))).toBeNull();
    expect(tokenFromAuthorization('Digest abc')).toBeNull();
    expect(tokenFromAuthorization('Basic !!!')).toBeNull();
    expect(tokenFromAuthorization('Bearer ' + 'x'.repeat(30 * 1024))).toBeNull();
    expect(requestToken({ headers: {} })).toBeNull();
  });
});
