/** Structured logs: JSON lines on stdout via pino, one logger for the process, children per capability. */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * pino's error serializer without `client`: pg-pool hangs the whole pg Client on an idle connection's error,
 * which made each such line some 6 KB (its last query's text, the backend's cancel key), repeated while the
 * database was away.
 */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const { client: _client, ...rest } = pino.stdSerializers.err(err) as ReturnType<typeof pino.stdSerializers.err> & { client?: unknown };
  return rest;
}

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'plansync' },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'token', 'password', '*.password', '*.token'], censor: '[redacted]' },
  });
}
