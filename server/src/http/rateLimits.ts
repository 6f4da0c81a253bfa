/**
 * The contract's request limit on HTTP: RATE_LIMIT_PER_MINUTE requests a minute (default 1200) for one access
 * token, one person, or one unauthenticated address; beyond it 429 with `Retry-After` and the code RATE_LIMITED.
 * Counted by rate-limiter-flexible in fixed one-minute windows, in this process's memory, or in Redis when
 * REDIS_URL is set, so that the limit holds for a caller however a proxy spreads their requests over instances.
 *
 * Who is counted:
 * - an access token (`pst_…`, the viewer carries `tokenScopes`) by its id: a script's token has its own budget,
 *   and a runaway script does not hold back its owner in the browser; an Entra app's app-only tokens by the
 *   app (`entraAppId`), since it may fetch a new token whenever it likes;
 * - anyone else with valid credentials (a sign-in token, Plansync's or Entra's) as the person: opening more
 *   tabs or signing in again gives no fresh budget;
 * - without valid credentials, the caller's address (`req.ip`, so TRUST_PROXY decides whose X-Forwarded-For
 *   counts; an IPv6 /64 as one address, as sign-in limits count it). A made-up token counts as no token:
 *   keying by the credential's text would give every made-up token a fresh budget.
 * Sign-in attempts have their own, stricter limit per address (auth/signInLimits.ts: failures only, before any
 * password is hashed); this one only caps how often anyone calls at all.
 *
 * When Redis is set but not answering, requests are let through (one log line when that starts, one when it
 * ends), never refused: the limit protects the service from a flood, and refusing everyone while Redis is away
 * would be the outage it is there to prevent. Instances keep serving without Redis for the same reason
 * (realtime/redisLink.ts).
 *
 * Mounted by http/server.ts on /graphql (GET and POST) and on /odata, /export and /import; not on /healthz,
 * /readyz, /metrics, sign-in redirects or static files. Another API route uses it as
 * `app.use('/path', limits.middleware('json', identify))` before its handlers (once per request: the
 * routes above are limited already).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { addressKey } from '../auth/addressKey.js';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Viewer } from '../policies/viewer.js';

/** The shape of a refusal: a GraphQL error response (/graphql) or the REST routes' `{ error: { code, message } }`. */
export type RefusalShape = 'graphql' | 'json';

/** Who the request is from, when its credentials are valid; null for no (or no valid) credentials. */
export type Identify = (req: Request, res: Response) => Promise<Viewer | null>;

export interface RequestLimitsOptions {
  perMinute: number;
  /** REDIS_URL: counted in Redis, shared by every instance, when set. */
  redisUrl?: string;
  /** REDIS_PREFIX: the keys are `<prefix>:rate:<key>`. */
  redisPrefix: string;
  log: Logger;
}

/** The key a caller is counted under. */
export function rateLimitKey(viewer: Viewer | null, address: string | undefined): string {
  // An Entra app by its app id: it can fetch a fresh token at will, and must not get a fresh budget with it.
  if (viewer?.entraAppId) return `entra-app:${viewer.entraAppId}`;
  if (viewer?.tokenScopes && viewer.tokenId) return `token:${viewer.tokenId}`;
  if (viewer) return `person:${viewer.userId}`;
  return `address:${address ? addressKey(address) : 'unknown'}`;
}

export class RequestLimits {
  private readonly limiter: RateLimiterAbstract;
  private readonly redis?: Redis;
  /** Set while Redis fails to count: requests pass uncounted meanwhile (logged once, not per request). */
  private failing = false;
  private connecting?: Promise<void>;

  constructor(private readonly options: RequestLimitsOptions) {
    const common = { points: options.perMinute, duration: 60 };
    if (!options.redisUrl) {
      this.limiter = new RateLimiterMemory({ ...common, keyPrefix: 'rate' });
      return;
    }
    // A connection of its own (RedisLink's are for publishing and subscribing). As RedisLink's: nothing waits
    // for Redis (no offline queue, one try), and it reconnects for ever in the background.
    this.redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(100 * times, 2000),
      connectionName: 'plansync-rate-limits',
    });
    this.redis.on('error', () => undefined); // reported by `consume` failing, once per outage
    this.connecting = this.redis.connect().catch(() => undefined);
    this.limiter = new RateLimiterRedis({
      ...common,
      storeClient: this.redis,
      useRedisPackage: false,
      keyPrefix: `${options.redisPrefix}:rate`,
      // While Redis is not connected, fail at once rather than wait for a command timeout.
      rejectIfRedisNotReady: true,
      // A caller over the limit is refused from this process's memory until their window ends: a flood of
      // refused requests does not reach Redis.
      inMemoryBlockOnConsumed: options.perMinute + 1,
    });
  }

  /**
   * Express middleware counting each request against its caller; `identify` says who the caller is. Refusals
   * are 429 with Retry-After, shaped as `shape` says.
   */
  middleware(shape: RefusalShape, identify: Identify): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      void (async () => {
        const viewer = await identify(req, res);
        const key = rateLimitKey(viewer, req.ip);
        try {
          await this.limiter.consume(key);
          this.recovered();
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) {
            this.failed(refusal);
            return next();
          }
          return refuse(res, shape, refusal.msBeforeNext);
        }
        next();
      })().catch(next);
    };
  }

  /**
   * Waits up to `timeoutMs` for Redis (when set), so that the first requests are counted rather than let
   * through: the first try's answer or failure (a refused connection fails at once), never longer.
   */
  async start(timeoutMs: number): Promise<void> {
    if (!this.connecting) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.connecting, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }

  private failed(err: unknown) {
    if (this.failing) return;
    this.failing = true;
    this.options.log.error({ err }, 'rate limits cannot be counted in Redis: requests are let through uncounted until it answers again');
  }

  private recovered() {
    if (!this.failing) return;
    this.failing = false;
    this.options.log.info('rate limits are counted in Redis again');
  }
}

function refuse(res: Response, shape: RefusalShape, msBeforeNext: number) {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const message = `Too many requests: try again in ${seconds} s`;
  res.status(429).setHeader('retry-after', String(seconds));
  // Per caller and per moment: no cache may keep it.
  res.setHeader('cache-control', 'no-store');
  if (shape === 'graphql') res.json({ errors: [{ message, extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: seconds } }] });
  else res.json({ error: { code: ErrorCode.RATE_LIMITED, message } });
}
