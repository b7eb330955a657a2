import { NotFoundError, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Middleware } from 'koa';
import { isServiceError, type FieldError } from './ServiceError.js';

export const PROBLEM_JSON = 'application/problem+json';
// URNs like the schemas' `urn:jetbox:schema:…`: stable identifiers, not pages to fetch.
const TYPE_BASE = 'urn:jetbox:problem:';

/** An RFC 9457 problem details document, with the offending fields when there are some. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
}

export interface ErrorLog {
  error(obj: object, msg: string): void;
}

/**
 * The one place errors become HTTP responses: every failure, and every route that does not
 * exist, is answered with `application/problem+json`; unexpected errors are logged and
 * answered with a 500 that does not leak their message.
 */
export function errorMiddleware(log: ErrorLog): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        respond(ctx, {
          type: `${TYPE_BASE}not-found`,
          title: 'Not found',
          status: 404,
          detail: `no route for ${ctx.method} ${ctx.path}`,
          instance: ctx.path,
        });
      }
    } catch (err) {
      respond(ctx, toProblem(err, ctx.path, log));
    }
  };
}

function respond(ctx: Parameters<Middleware>[0], problem: Problem): void {
  ctx.status = problem.status;
  ctx.body = problem;
  ctx.type = PROBLEM_JSON;
}

function toProblem(err: unknown, instance: string, log: ErrorLog): Problem {
  if (isServiceError(err)) {
    return {
      type: `${TYPE_BASE}${err.code.toLowerCase().replace(/_/g, '-')}`,
      title: err.title,
      status: err.status,
      detail: err.message,
      instance,
      ...(err.errors.length > 0 ? { errors: err.errors } : {}),
    };
  }
  if (err instanceof NotFoundError) {
    return {
      type: `${TYPE_BASE}not-found`,
      title: 'Not found',
      status: 404,
      detail: err.message,
      instance,
    };
  }
  if (err instanceof UniqueConstraintViolationException) {
    return {
      type: `${TYPE_BASE}conflict`,
      title: 'Conflict',
      status: 409,
      detail: 'the resource already exists',
      instance,
    };
  }
  // Koa's and the router's own client errors (such as 405) carry an exposed 4xx status.
  const status = (err as { status?: unknown; expose?: unknown }).status;
  if (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    (err as { expose?: unknown }).expose === true
  ) {
    return {
      type: `${TYPE_BASE}http-${status}`,
      title: (err as Error).message,
      status,
      detail: (err as Error).message,
      instance,
    };
  }
  log.error({ err }, 'request failed');
  return {
    type: `${TYPE_BASE}internal`,
    title: 'Internal server error',
    status: 500,
    detail: 'the request failed; see the service log',
    instance,
  };
}
