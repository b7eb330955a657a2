import { Router } from '@koa/router';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { checkReadiness } from './checkReadiness.js';

/** What the operational endpoints look at. */
export interface OpsDeps {
  orm: MikroORM;
  nats: NatsConnection;
  /** Served at `/metrics`. */
  registry: Registry;
}

/**
 * `GET /healthz` (the process answers), `GET /readyz` (PostgreSQL and NATS answer, no pending
 * migration; 503 otherwise) and `GET /metrics` (Prometheus text of `registry`).
 */
export function opsRoutes<S>(deps: OpsDeps): Router<S> {
  const ops = new Router<S>();
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
  return ops;
}
