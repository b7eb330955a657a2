import { createServiceApp, type ServiceDeps } from '@jetbox/service-kit';
import type Koa from 'koa';
import { apiRouter, type RequestState } from './http/routes.js';

/** Builds match-service's Koa application. Listening is the caller's business. */
export function createApp(deps: ServiceDeps): Koa<RequestState> {
  return createServiceApp({ ...deps, api: apiRouter(), metricsPrefix: 'match_service' });
}
