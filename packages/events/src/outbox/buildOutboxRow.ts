import { dataschemaOf, getEventDefinition } from '@jetbox/schemas';
import { v7 as uuidv7 } from 'uuid';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import { eventSubject, partitionOf } from '../jetstream/subjects.js';
import type { RecordedEvent } from './AggregateRoot.js';
import type { OutboxMessage } from './OutboxMessage.js';
import type { ResolvedOutboxOptions } from './outboxOptions.js';
import { publishedSize } from './publishedSize.js';

/**
 * Turns a recorded (already validated) event into an outbox row. Refuses an event whose NATS
 * message (headers and data as the relay publishes them) would be larger than `maxEventBytes`:
 * accepted, it would fail at every publish and hold back its aggregate.
 */
export function buildOutboxRow(
  event: RecordedEvent,
  options: ResolvedOutboxOptions,
  now: Date,
): OutboxMessage {
  if (event.aggregateId === '' || event.aggregateType === '') {
    throw new JetboxError(
      JetboxErrorCode.InvalidEvent,
      `${event.type} needs an aggregate type and id`,
    );
  }
  const partition = partitionOf(event.aggregateId, options.partitions);
  const row: OutboxMessage = {
    id: uuidv7(),
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    partition,
    type: event.type,
    source: options.source,
    dataschema: dataschemaOf(event.type),
    natsSubject: eventSubject(
      getEventDefinition(event.type).subject,
      partition,
      options.subjectPrefix,
    ),
    headers: event.traceHeaders,
    data: event.data,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
  };
  const size = publishedSize(row);
  const bytes = size.headers + size.data;
  if (bytes > options.maxEventBytes) {
    throw new JetboxError(
      JetboxErrorCode.EventTooLarge,
      `${event.type} for ${event.aggregateType} ${event.aggregateId} would be a ${bytes}-byte NATS message (data ${size.data} bytes as PostgreSQL prints it, headers ${size.headers}), above the limit of ${options.maxEventBytes} (outbox.maxEventBytes)`,
    );
  }
  return row;
}
