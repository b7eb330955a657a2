import { createServiceApp, type ErrorLog } from '@jetbox/service-kit';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { NatsConnection } from '@nats-io/transport-node';
import type Koa from 'koa';
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
  return createServiceApp({ ...deps, api: apiRouter(), metricsPrefix: 'notifier' });
}
