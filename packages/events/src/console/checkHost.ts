import type { Middleware } from 'koa';
import { ConsoleError, ConsoleErrorCode } from './ConsoleError.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for the addresses and names that only reach this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * On a console bound to loopback, refuses requests whose `Host` is not a loopback name: a web
 * page elsewhere could otherwise rebind its own name to 127.0.0.1 (DNS rebinding) and read dead
 * letters from the operator's browser as if it were the console's own origin.
 */
export function checkHost(boundHost: () => string | undefined): Middleware {
  return async (ctx, next) => {
    const bound = boundHost();
    if (bound !== undefined && isLoopback(bound) && !isLoopback(ctx.hostname))
      throw new ConsoleError(
        ConsoleErrorCode.Misdirected,
        421,
        'Misdirected request',
        `host ${JSON.stringify(ctx.hostname)} is not this console's: open it as ${bound}`,
      );
    await next();
  };
}
