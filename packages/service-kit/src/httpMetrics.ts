import { Counter, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { Middleware } from 'koa';

/**
 * Registers the process metrics and HTTP request metrics (`<prefix>_http_requests_total`,
 * `<prefix>_http_request_duration_seconds`) on `registry`, and returns the middleware that
 * observes each request by route pattern (never by raw path, which would make one series per id).
 */
export function httpMetrics(registry: Registry, prefix: string): Middleware {
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: `${prefix}_http_requests_total`,
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return async (ctx, next) => {
    const end = duration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const labels = { method: ctx.method, route: typeof route === 'string' ? route : 'unmatched' };
      end(labels);
      requests.inc({ ...labels, status: String(ctx.status) });
    }
  };
}
