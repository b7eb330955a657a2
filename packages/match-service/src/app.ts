import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Registry } from 'prom-client';
import { errorMiddleware } from './http/errorMiddleware.js';
import { httpMetrics } from './http/metrics.js';
import { apiRouter, type RequestState } from './http/routes.js';
import { checkReadiness } from './readiness.js';

/** What the app is built from; `main.ts` wires the real ones, tests their own. */
export interface AppDeps {
  orm: MikroORM;
  nats: NatsConnection;
  /** Served at `/metrics`; the relay should register its metrics here too. */
  registry: Registry;
  /** Where request failures are logged. @defaultValue console */
  log?: { error(obj: object, msg: string): void };
}

/** Builds the Koa application of match-service. Listening is the caller's business. */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>();
  const log = deps.log ?? { error: (obj: object, msg: string) => console.error(msg, obj) };
  // Errors are answered by errorMiddleware; Koa's default handler would only print them again.
  app.silent = true;

  const ops = new Router<RequestState>();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    const readiness = await checkReadiness(deps.orm, deps.nats);
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = readiness;
  });
  ops.get('/metrics', async (ctx) => {
    ctx.type = deps.registry.contentType;
    ctx.body = await deps.registry.metrics();
  });

  const api = apiRouter();
  app.use(httpMetrics(deps.registry));
  app.use(errorMiddleware(log));
  app.use(ops.routes());
  app.use(async (ctx, next) => {
    // One unit of work per request; the global EntityManager is never used for requests.
    ctx.state.em = deps.orm.em.fork();
    await next();
  });
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: true }));
  return app;
}
