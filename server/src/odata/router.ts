/**
 * The read-only OData v4 feed at /odata, for Excel and Power BI (CONTRACT.md, "OData feed for Excel and Power
 * BI"): the service document, $metadata, and the entity sets of entitySets.ts with $filter, $select, $orderby,
 * $top, $skip, $count and server-driven paging (@odata.nextLink every ODATA_PAGE_SIZE rows).
 *
 * Credentials: `Authorization: Bearer <token>`, or HTTP Basic with any user name and the token as the password
 * (what Excel and Power Query's "Basic" send), read by auth/credentials.ts; the token is then verified like any
 * other (auth/viewers.ts `fromToken`: sign-in tokens, pst_ access tokens, Entra tokens).
 * Without valid credentials: 401 with a Basic and a Bearer challenge, the Bearer one naming the Entra authority
 * when Entra ID is set up (Power Query's "Organizational account" follows it).
 */
import express, { type Request, type Response } from 'express';
import { requestToken } from '../auth/credentials.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Services } from '../services.js';
import type { Viewer } from '../policies/viewer.js';
import { ErrorCode } from '../errors.js';
import { entitySet, ENTITY_SETS } from './entitySets.js';
import { countRows, encodeSkipToken, writePage } from './feed.js';
import { feedRoot } from './feedRoot.js';
import { metadataXml } from './metadata.js';
import { BadOption, parseQueryOptions } from './queryOptions.js';

const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

function odataError(res: Response, status: number, code: string, message: string) {
  res.status(status).type(JSON_TYPE).send(JSON.stringify({ error: { code, message } }));
}

function challenges(config: Config): string[] {
  const bearer = config.entra
    ? `Bearer realm="Plansync", authorization_uri="${config.entra.authorityHost}/${config.entra.tenantId}/oauth2/authorize"`
    : 'Bearer realm="Plansync"';
  return ['Basic realm="Plansync", charset="UTF-8"', bearer];
}

/** A query string of these pairs, with `$` left readable. */
function queryString(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`.replace(/%24/g, '$')).join('&');
}

export function odataRouter(services: Services, log: Logger): express.Router {
  const { config } = services;
  const pageSize = config.odataPageSize;
  const router = express.Router({ caseSensitive: true, strict: false });

  router.use((req, res, next) => {
    res.setHeader('OData-Version', '4.0');
    // Answers are per person: no browser or proxy may keep one.
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return odataError(res, 405, ErrorCode.BAD_USER_INPUT, 'The OData feed is read-only');
    }
    next();
  });

  /** The viewer of the request's credentials; answers 401 itself (and gives null) when there are none valid. */
  async function viewerOf(req: Request, res: Response): Promise<Viewer | null> {
    // The rate limit in front of the feed (http/server.ts) has looked the credentials up already, when mounted.
    const viewer = await ((res.locals.viewer as Promise<Viewer | null> | undefined) ?? services.viewers.fromToken(services.orm.em, requestToken(req)));
    if (!viewer) {
      res.setHeader('WWW-Authenticate', challenges(config));
      odataError(res, 401, ErrorCode.UNAUTHENTICATED, 'Sign in: HTTP Basic with any user name and an access token as the password, or a Bearer token');
    }
    return viewer;
  }

  router.get('/', async (req, res) => {
    if (!(await viewerOf(req, res))) return;
    const root = feedRoot(req, config);
    res.type(JSON_TYPE).send(JSON.stringify({ '@odata.context': `${root}/$metadata`, value: ENTITY_SETS.map((s) => ({ name: s.name, kind: 'EntitySet', url: s.name })) }));
  });

  router.get('/\\$metadata', async (req, res) => {
    if (!(await viewerOf(req, res))) return;
    res.type('application/xml;charset=utf-8').send(metadataXml());
  });

  router.get('/:set', async (req, res) => {
    const set = entitySet(req.params.set);
    if (!set) return odataError(res, 404, ErrorCode.NOT_FOUND, `No entity set ${req.params.set}; the feed has ${ENTITY_SETS.map((s) => s.name).join(', ')}`);
    const viewer = await viewerOf(req, res);
    if (!viewer) return;
    const search = req.originalUrl.indexOf('?');
    const query = new URLSearchParams(search < 0 ? '' : req.originalUrl.slice(search + 1));
    let options;
    try {
      options = await parseQueryOptions(set, query);
    } catch (err) {
      if (err instanceof BadOption) return odataError(res, 400, ErrorCode.BAD_USER_INPUT, err.message);
      throw err;
    }
    const scope = set.scopeOf(viewer);
    const root = feedRoot(req, config);
    const em = services.orm.em;
    let started = false;
    try {
      // The count and a bad $skiptoken are known before the first byte: until then, an error is still an answer.
      const count = options.count ? await countRows(em, set, scope, options) : null;
      const context = `${root}/$metadata#${set.name}${options.selected ? `(${options.select.map((p) => p.name).join(',')})` : ''}`;
      const head = `{"@odata.context":${JSON.stringify(context)}${count !== null ? `,"@odata.count":${count}` : ''},"value":[`;
      const out = {
        write: async (text: string) => {
          if (!started) {
            started = true;
            res.status(200).type(JSON_TYPE);
            res.write(head);
          }
          if (!res.write(text)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
        },
      };
      const next = await writePage(em, set, scope, options, pageSize, out);
      if (!started) await out.write('');
      let tail = ']';
      if (next) {
        const kept = [...query].filter(([k]) => !['$skip', '$top', '$skiptoken'].includes(k.toLowerCase()));
        tail += `,"@odata.nextLink":${JSON.stringify(`${root}/${set.name}?${queryString([...kept, ['$skiptoken', encodeSkipToken(next)]])}`)}`;
      }
      res.end(`${tail}}`);
    } catch (err) {
      if (err instanceof BadOption && !started) return odataError(res, 400, ErrorCode.BAD_USER_INPUT, err.message);
      // A number or a time out of PostgreSQL's range comes from a value the caller gave: their error, not ours.
      const code = (err as { code?: unknown }).code;
      if (!started && (code === '22003' || code === '22008')) return odataError(res, 400, ErrorCode.BAD_USER_INPUT, 'A value in the query options is out of range');
      log.error({ err, set: set.name }, 'OData read failed');
      // Once rows were sent the status cannot change: the connection is cut so the client sees a failure, not a short page.
      if (started) res.destroy();
      else odataError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
  });

  // The count alone, as plain text (what Power Query asks for Table.RowCount): $filter applies, paging does not.
  router.get('/:set/\\$count', async (req, res) => {
    const set = entitySet(req.params.set);
    if (!set) return odataError(res, 404, ErrorCode.NOT_FOUND, `No entity set ${req.params.set}`);
    const viewer = await viewerOf(req, res);
    if (!viewer) return;
    const search = req.originalUrl.indexOf('?');
    let options;
    try {
      options = await parseQueryOptions(set, new URLSearchParams(search < 0 ? '' : req.originalUrl.slice(search + 1)));
    } catch (err) {
      if (err instanceof BadOption) return odataError(res, 400, ErrorCode.BAD_USER_INPUT, err.message);
      throw err;
    }
    const count = await countRows(services.orm.em, set, set.scopeOf(viewer), options);
    res.type('text/plain;charset=utf-8').send(String(count));
  });

  router.use((_req: Request, res: Response) => odataError(res, 404, ErrorCode.NOT_FOUND, 'Not an OData resource of this feed'));
  return router;
}
