import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { ConsoleError } from './ConsoleError.js';

/**
 * Lets a request through only with `Authorization: Bearer <token>`. Without a configured token
 * the console is read-only and every admin action is refused (403).
 */
export function requireToken(token: string | undefined): Middleware {
  const expected = token === undefined ? undefined : digest(token);
  return async (ctx, next) => {
    if (expected === undefined) throw ConsoleError.readOnly();
    const match = /^Bearer +(\S+) *$/i.exec(ctx.get('Authorization'));
    if (!match?.[1])
      throw ConsoleError.unauthorized('admin actions need Authorization: Bearer <token>');
    // Digests have one length, so the comparison takes the same time for any wrong token.
    if (!timingSafeEqual(digest(match[1]), expected))
      throw ConsoleError.unauthorized('the bearer token is not the console token');
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
