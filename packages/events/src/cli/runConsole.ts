import pg from 'pg';
import { isLoopback } from '../console/checkHost.js';
import { createConsoleApp } from '../console/createConsoleApp.js';
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT } from '../console/consoleOptions.js';
import { connectNats } from '../jetstream/connectNats.js';
import { natsOptionsFromEnv } from '../jetstream/natsOptions.js';
import { createLogger } from '../logger.js';
import type { CliEnv } from './cliConfig.js';

export interface RunConsoleFlags {
  port?: number;
  host?: string;
}

/** `jetbox console`: serves the operator console until SIGINT/SIGTERM, then closes cleanly. */
export async function runConsole(env: CliEnv, flags: RunConsoleFlags): Promise<void> {
  const port = flags.port ?? DEFAULT_CONSOLE_PORT;
  const host = flags.host ?? DEFAULT_CONSOLE_HOST;
  const log = createLogger('jetbox-console');
  const nc = await connectNats({
    ...natsOptionsFromEnv(process.env),
    servers: env.natsUrl.split(','),
    name: 'jetbox-console',
  });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  // A pool emits errors of idle connections (a restarted PostgreSQL); requests report their own.
  pool.on('error', (err) => log.warn({ err }, 'idle database connection failed'));
  try {
    const app = createConsoleApp({
      db: pool,
      nats: nc,
      stream: env.stream,
      ...(env.dlqStream ? { dlqStream: env.dlqStream } : {}),
      ...(env.dlqSubjectPrefix ? { dlqSubjectPrefix: env.dlqSubjectPrefix } : {}),
      ...(env.consoleToken ? { token: env.consoleToken } : {}),
      log,
    });
    try {
      const url = await app.listen(port, host);
      console.log(
        `jetbox console: ${url} (${app.options.token ? 'admin actions need the token' : 'read-only: set JETBOX_CONSOLE_TOKEN for redrive, purge and retry'})`,
      );
      if (!isLoopback(host))
        log.warn({ host }, 'the console listens beyond this machine and shows message bodies');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } finally {
      await app.close();
    }
  } finally {
    await pool.end();
    await nc.drain();
  }
}
