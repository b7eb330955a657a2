import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  propagation,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';

const TRACER = '@jetbox/events';

/** The trace context an event was recorded in: its `traceparent`/`tracestate`. */
export function eventTraceContext(fields: {
  traceparent?: unknown;
  tracestate?: unknown;
}): Context {
  const carrier: Record<string, string> = {};
  if (typeof fields.traceparent === 'string') carrier.traceparent = fields.traceparent;
  if (typeof fields.tracestate === 'string') carrier.tracestate = fields.tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * The relay's PRODUCER span for one outbox row, a child of the context the event was recorded
 * in, so the publish joins the trace of the request that caused it. Ends at the PubAck.
 */
export function startPublishSpan(row: {
  id: string;
  type: string;
  subject: string;
  headers: Record<string, unknown>;
}): Span {
  return trace.getTracer(TRACER).startSpan(
    `publish ${row.type}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': row.subject,
        'messaging.message.id': row.id,
        'cloudevents.event_id': row.id,
        'cloudevents.event_type': row.type,
      },
    },
    eventTraceContext(row.headers),
  );
}

/**
 * A consumer's CONSUMER span for one event, a child of the context the event was recorded in;
 * the handler runs inside it, so its own calls (HTTP, SQL) join the same trace.
 */
export function startProcessSpan(
  consumer: string,
  subject: string,
  event: { id: string; type: string; traceparent?: unknown; tracestate?: unknown },
): { span: Span; context: Context } {
  const parent = eventTraceContext(event);
  const span = trace.getTracer(TRACER).startSpan(
    `process ${event.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': subject,
        'messaging.consumer.group.name': consumer,
        'cloudevents.event_id': event.id,
        'cloudevents.event_type': event.type,
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends `span`, marking it failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const err = error instanceof Error ? error : new Error(JSON.stringify(error));
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  }
  span.end();
}
