import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics of notifier's outgoing calls, labelled by target (`match-service`, `webhook`). */
export interface HttpClientMetrics {
  attempts: Counter<'target' | 'outcome'>;
  rejected: Counter<'target' | 'reason'>;
  circuitState: Gauge<'target'>;
  circuitOpened: Counter<'target'>;
}

export function httpClientMetrics(registry: Registry): HttpClientMetrics {
  const registers = [registry];
  return {
    attempts: new Counter({
      name: 'notifier_http_client_attempts_total',
      help: 'Outgoing HTTP attempts by target and outcome (http_2xx … http_5xx, timeout, network).',
      labelNames: ['target', 'outcome'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'notifier_http_client_rejected_total',
      help: 'Calls refused without an attempt: circuit_open or bulkhead_full.',
      labelNames: ['target', 'reason'] as const,
      registers,
    }),
    circuitState: new Gauge({
      name: 'notifier_circuit_state',
      help: 'Circuit breaker state per target: 0 closed, 1 open, 2 half-open, 3 isolated.',
      labelNames: ['target'] as const,
      registers,
    }),
    circuitOpened: new Counter({
      name: 'notifier_circuit_opened_total',
      help: 'Times the circuit breaker of a target opened.',
      labelNames: ['target'] as const,
      registers,
    }),
  };
}
