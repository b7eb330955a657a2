import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

/** Longest wait for in-flight requests at close before their connections are cut. @defaultValue 10 s */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface Listening extends AsyncDisposable {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish within `timeoutMs`, then cuts the rest. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** Starts the app on `port` (0 picks a free one) of `host`, resolving once it listens. */
export async function listen<S, C>(
  app: Koa<S, C>,
  port: number,
  host = '0.0.0.0',
): Promise<Listening> {
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  const close = (timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS) => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
