/**
 * The Plansync process: read the configuration, start, and stop cleanly on SIGTERM, SIGINT or SIGHUP (requests in
 * flight finish, the embedded PostgreSQL shuts down properly). A second signal, a second or more later, forces the exit.
 */
import 'reflect-metadata';
import { ConfigError, loadConfig } from './config.js';
import { setHeapGrowth } from './internals/heapGrowth.js';
import { createLogger } from './log.js';

/** Signals this close together are one (see `onSignal`). */
const SAME_SIGNAL_MS = 1000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Plansync cannot start: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  setHeapGrowth(config.heapGrowthPercent);
  const log = createLogger(config.logLevel);
  // Last resort, not a fix: every promise on a request or socket path handles its own failure, so that one
  // client's error ends that client's request or socket. Should one slip through anyway, it is logged (and
  // the process serves everyone else) rather than ending the process, as Node would by default.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (a bug: whatever made this promise must handle its failure)');
  });
  // A synchronous throw nobody caught still ends the process (its state may be broken); it is logged first.
  process.on('uncaughtExceptionMonitor', (err, origin) => log.fatal({ err, origin }, 'uncaught exception: exiting'));
  let app;
  try {
    // Imported once the settings are known to be good: loading the whole server takes seconds, and a bad setting
    // is said at once.
    const { startPlansync } = await import('./app.js');
    app = await startPlansync(config, log);
  } catch (err) {
    // Another process on the port: said in one line that names the setting, as a bad setting is (exit 2).
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`Plansync cannot start: PORT ${config.port} on ${config.host} is in use by another process (stop it, or set PORT)`);
      process.exit(2);
    }
    log.fatal({ err }, 'Plansync did not start');
    process.exit(1);
  }
  let signalledAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalledAt !== undefined) {
      // Under `npm start`, one Ctrl-C arrives twice: the terminal signals its whole foreground group, npm included,
      // and npm passes it on to us. Only a signal that comes later is someone asking again.
      if (Date.now() - signalledAt < SAME_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalledAt = Date.now();
    log.info({ signal }, 'received signal, shutting down gracefully');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The terminal of `npm start` closed: stop as cleanly as on Ctrl-C (Node's default would exit at once, leaving
  // the embedded PostgreSQL, in a process group of its own, for the next start to find).
  process.on('SIGHUP', onSignal);
}

void main();
