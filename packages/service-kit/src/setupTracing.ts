import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TracingOptions {
  /** `service.name` of every span. */
  serviceName: string;
  /** OTLP/HTTP traces URL (`…/v1/traces`). Without it (and without `exporter`) tracing stays off. */
  otlpTracesUrl?: string | undefined;
  /** Export somewhere else (tests: an in-memory exporter). */
  exporter?: SpanExporter;
  /** How long spans wait to be batched. @defaultValue 1000 */
  scheduledDelayMs?: number;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes pending spans; call last at shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Registers the OpenTelemetry tracer provider, W3C trace-context propagation and the
 * AsyncLocalStorage context manager, exporting to OTLP/HTTP. With no URL it registers nothing:
 * the `@opentelemetry/api` calls in jetbox stay no-ops and cost next to nothing.
 */
export function setupTracing(options: TracingOptions): Tracing {
  const exporter =
    options.exporter ??
    (options.otlpTracesUrl ? new OTLPTraceExporter({ url: options.otlpTracesUrl }) : undefined);
  if (!exporter) return { enabled: false, shutdown: () => Promise.resolve() };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.scheduledDelayMs ?? 1000 }),
    ],
  });
  provider.register();
  return { enabled: true, shutdown: () => provider.shutdown() };
}
