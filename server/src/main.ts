/**
 * The Plansync process: read the configuration, start, and stop cleanly on SIGTERM or SIGINT (requests in
 * flight finish, the embedded PostgreSQL shuts down properly). A second signal forces the exit.
 */
import 'reflect-metadata';
import { startPlansync } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { setHeapGrowth } from './internals/heapGrowth.js';
import { createLogger } from './log.js';

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
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
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
}

void main();
