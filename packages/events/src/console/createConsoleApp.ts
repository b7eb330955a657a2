import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { checkHost } from './checkHost.js';
import { consoleApi } from './consoleApi.js';
import {
  DEFAULT_CONSOLE_HOST,
  DEFAULT_CONSOLE_PORT,
  resolveConsoleOptions,
  type ConsoleOptions,
  type ConsoleOptionsInput,
} from './consoleOptions.js';
import { consolePage } from './consolePage.js';
import { createOutboxSampler } from './createOutboxSampler.js';
import { problemMiddleware } from './problemMiddleware.js';

/** Longest wait for open requests at close before their connections are cut. */
const CLOSE_TIMEOUT_MS = 5000;

/** The operator console: a Koa app, its outbox sampler, and listening. */
export interface ConsoleApp extends AsyncDisposable {
  readonly app: Koa;
  readonly options: ConsoleOptions;
  /**
   * Starts sampling and listens on `host:port` (port 0 picks a free one); resolves with the
   * page's URL. Call once.
   */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops listening (open requests get 5 s) and sampling. Idempotent. */
  close(): Promise<void>;
}

/**
 * The console's page and JSON API over connections the caller owns (it closes neither).
 * Throws `INVALID_OPTIONS` naming the property when an option is invalid.
 */
export function createConsoleApp(input: ConsoleOptionsInput): ConsoleApp {
  const options = resolveConsoleOptions(input);
  const sampler = createOutboxSampler({
    db: options.db,
    intervalMs: options.sampleIntervalMs,
    history: options.sampleHistory,
    log: options.log,
  });
  const app = new Koa();
  // Errors are answered by problemMiddleware; Koa's default handler would only print them again.
  app.silent = true;
  let boundHost: string | undefined;
  app.use(problemMiddleware(options.log));
  app.use(checkHost(() => boundHost));
  const api = consoleApi(options, sampler);
  const page = consolePage();
  app.use(api.routes()).use(api.allowedMethods({ throw: true }));
  app.use(page.routes()).use(page.allowedMethods({ throw: true }));

  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  async function listen(port = DEFAULT_CONSOLE_PORT, host = DEFAULT_CONSOLE_HOST) {
    if (server) throw new Error('the console is already listening');
    boundHost = host;
    server = app.listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server!.once('listening', resolve);
      server!.once('error', reject);
    });
    sampler.start();
    const { port: actual } = server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${actual}/`;
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const s = server;
      if (s?.listening) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => s.closeAllConnections(), CLOSE_TIMEOUT_MS);
          s.close(() => {
            clearTimeout(timer);
            resolve();
          });
          // Idle keep-alive connections (a browser's) would hold close() open until they time out.
          s.closeIdleConnections();
        });
      }
      await sampler.stop();
    })();
    return closing;
  }

  return { app, options, listen, close, [Symbol.asyncDispose]: close };
}
