import { context, propagation } from '@opentelemetry/api';

/** The W3C trace context of the active span, for the CloudEvents `traceparent` extension. */
export function currentTraceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
