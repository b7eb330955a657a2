import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The one logger of a jetbox program: JSON lines in production (and whenever stdout is not a
 * terminal), pretty in a developer's terminal. `JETBOX_LOG_LEVEL` sets the level.
 */
export function createLogger(name: string, level = process.env.JETBOX_LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production';
  return pino({
    name,
    level,
    ...(pretty
      ? {
          transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
        }
      : {}),
  });
}
