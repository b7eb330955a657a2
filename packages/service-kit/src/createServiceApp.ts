import type { Router } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import Koa, { type DefaultState } from 'koa';
import { errorMiddleware, type ErrorLog } from './errorMiddleware.js';
import { httpMetrics } from './httpMetrics.js';
import { opsRoutes, type OpsDeps } from './opsRoutes.js';
import { traceRequests } from './traceRequests.js';

/** What each API request carries: its own EntityManager. */
export interface ServiceState extends DefaultState {
  em: EntityManager;
}

/** What a service's app is built from; `main.ts` wires the real ones, tests their own. */
export interface ServiceDeps extends OpsDeps {
  /** Where request failures are logged. @defaultValue console */
  log?: ErrorLog;
}

export interface ServiceAppOptions<S extends ServiceState> extends ServiceDeps {
  /** The service's own routes. */
  api: Router<S>;
  /** First part of the HTTP metric names (`<prefix>_http_requests_total`). */
  metricsPrefix: string;
}

/**
 * A service's Koa application: a trace span per request, HTTP metrics, problem+json errors, `/healthz` `/readyz`
 * `/metrics`, then the API with one forked EntityManager per request (the global one is never
 * used for requests) and 405s for known paths with other methods. Listening is the caller's.
 */
export function createServiceApp<S extends ServiceState>(options: ServiceAppOptions<S>): Koa<S> {
  const app = new Koa<S>();
  const log = options.log ?? { error: (obj: object, msg: string) => console.error(msg, obj) };
  // Errors are answered by errorMiddleware; Koa's default handler would only print them again.
  app.silent = true;
  const ops = opsRoutes<S>(options);
  app.use(traceRequests(options.metricsPrefix));
  app.use(httpMetrics(options.registry, options.metricsPrefix));
  app.use(errorMiddleware(log));
  app.use(ops.routes());
  app.use(async (ctx, next) => {
    ctx.state.em = options.orm.em.fork();
    await next();
  });
  app.use(options.api.routes());
  app.use(options.api.allowedMethods({ throw: true }));
  return app;
}
