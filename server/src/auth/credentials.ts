/**
 * The credentials of a plain HTTP request (/odata, /export, /import): `Authorization: Bearer <token>`, or
 * `Authorization: Basic base64(user:password)` where the password is the token and the user name is ignored.
 * Basic is there for the tools that know nothing else: Excel's and Power BI's OData connector ("Basic" with
 * an access token as the password, as Azure DevOps Analytics serves them). The token is then judged like any
 * other by `ViewerResolver.fromToken`, so what it may see does not depend on how it was sent.
 */
import { bearerToken } from './viewers.js';

/** The longest header we decode; a token is far shorter (viewers.ts refuses anything over 16 KiB anyway). */
const MAX_AUTHORIZATION_LENGTH = 24 * 1024;

/** The token in an `Authorization` header value (Bearer or Basic's password), or null. */
export function tokenFromAuthorization(header: string | undefined | null): string | null {
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const bearer = bearerToken(header);
  if (bearer) return bearer;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  // RFC 7617: the user name ends at the first colon; the password may itself hold colons.
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const password = decoded.slice(colon + 1);
  return password.length > 0 ? password : null;
}

/** The token an HTTP request carries (see `tokenFromAuthorization`), or null. */
export function requestToken(req: { headers: { authorization?: string | undefined } }): string | null {
  return tokenFromAuthorization(req.headers.authorization);
}
