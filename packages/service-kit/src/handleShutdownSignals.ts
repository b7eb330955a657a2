/** The logging calls shutdown makes; a pino logger fits. */
export interface ShutdownLog {
  info(obj: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const RELAYED_SIGNAL_WINDOW_MS = 1000;

/**
 * On the first SIGINT or SIGTERM runs `stop` once (a service's ordered shutdown) and logs
 * `stopped`, or `unclean stop` with exit code 1 when it throws; a second signal (more than a
 * second later) exits at once.
 * The one place a service handles signals.
 */
export function handleShutdownSignals(log: ShutdownLog, stop: () => Promise<void>): void {
  let stoppingSince: number | undefined;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C reaches the whole process group, and a watcher (tsx watch, turbo) relays it
      // once more: a repeat within a second is that same signal, not a request to hurry.
      if (Date.now() - stoppingSince < RELAYED_SIGNAL_WINDOW_MS) return;
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'stopping');
    try {
      await stop();
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'unclean stop');
      process.exitCode = 1;
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}
