import type { Middleware } from 'koa';
import { isJetboxError, JetboxErrorCode } from '../errors.js';
import type { ConsoleLog } from './consoleOptions.js';
import { ConsoleError, ConsoleErrorCode, isConsoleError } from './ConsoleError.js';

export const PROBLEM_JSON = 'application/problem+json';
const TYPE_BASE = 'urn:jetbox:problem:';

/** An RFC 9457 problem details document; `parameter` names the request parameter at fault. */
export interface ConsoleProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  parameter?: string;
}

/**
 * The one place the console's errors become responses: `application/problem+json` for every
 * failure and unknown route; unexpected errors are logged and answered without their message.
 */
export function problemMiddleware(log: ConsoleLog): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined)
        throw ConsoleError.notFound(`no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const problem = toProblem(err, ctx.path, log);
      ctx.status = problem.status;
      ctx.body = problem;
      ctx.type = PROBLEM_JSON;
      if (isConsoleError(err, ConsoleErrorCode.Unauthorized))
        ctx.set('WWW-Authenticate', 'Bearer realm="jetbox-console"');
    }
  };
}

function toProblem(err: unknown, instance: string, log: ConsoleLog): ConsoleProblem {
  // A dead letter that is gone (redriven or purged meanwhile) is a 404, not a failure.
  if (isJetboxError(err, JetboxErrorCode.NotFound))
    return fromConsoleError(ConsoleError.notFound(err.message), instance);
  if (isConsoleError(err)) return fromConsoleError(err, instance);
  // Koa's and the router's own client errors (405, malformed requests) expose a 4xx status.
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) {
    const message = (err as Error).message;
    return {
      type: `${TYPE_BASE}http-${status}`,
      title: message,
      status,
      detail: message,
      instance,
    };
  }
  log.error({ err }, 'console request failed');
  return {
    type: `${TYPE_BASE}internal`,
    title: 'Internal server error',
    status: 500,
    detail: 'the request failed; see the console log',
    instance,
  };
}

function fromConsoleError(err: ConsoleError, instance: string): ConsoleProblem {
  return {
    type: `${TYPE_BASE}${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    instance,
    ...(err.parameter !== undefined ? { parameter: err.parameter } : {}),
  };
}
