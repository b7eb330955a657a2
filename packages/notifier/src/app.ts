import { errorMiddleware, httpMetrics, opsRoutes, type ErrorLog } from '@jetbox/service-kit';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import { apiRouter, type RequestState } from './http/routes.js';

/** What the app is built from; `main.ts` wires the real ones, tests their own. */
export interface AppDeps {
  orm: MikroORM;
  nats: NatsConnection;
  /** Served at `/metrics`, with the consumer's and the HTTP clients' metrics. */
  registry: Registry;
  /** Where request failures are logged. @defaultValue console */
  log?: ErrorLog;
}

/** Builds notifier's Koa application. Listening is the caller's business. */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>();
  const log = deps.log ?? { error: (obj: object, msg: string) => console.error(msg, obj) };
  app.silent = true;
  const ops = opsRoutes<RequestState>(deps);
  const api = apiRouter();
  app.use(httpMetrics(deps.registry, 'notifier'));
  app.use(errorMiddleware(log));
  app.use(ops.routes());
  app.use(async (ctx, next) => {
    ctx.state.em = deps.orm.em.fork();
    await next();
  });
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: true }));
  return app;
}
