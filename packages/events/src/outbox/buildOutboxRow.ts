import { dataschemaOf, getEventDefinition } from '@jetbox/schemas';
import { v7 as uuidv7 } from 'uuid';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import { eventSubject, partitionOf } from '../jetstream/subjects.js';
import type { RecordedEvent } from './AggregateRoot.js';
import type { OutboxMessage } from './OutboxMessage.js';
import type { ResolvedOutboxOptions } from './outboxOptions.js';

/** Turns a recorded (already validated) event into an outbox row; refuses oversized data. */
export function buildOutboxRow(
  event: RecordedEvent,
  options: ResolvedOutboxOptions,
  now: Date,
): OutboxMessage {
  const bytes = Buffer.byteLength(JSON.stringify(event.data));
  if (bytes > options.maxEventBytes) {
    throw new JetboxError(
      JetboxErrorCode.EventTooLarge,
      `${event.type} for ${event.aggregateType} ${event.aggregateId} is ${bytes} bytes, above the limit of ${options.maxEventBytes} (outbox.maxEventBytes)`,
    );
  }
  if (event.aggregateId === '' || event.aggregateType === '') {
    throw new JetboxError(
      JetboxErrorCode.InvalidEvent,
      `${event.type} needs an aggregate type and id`,
    );
  }
  const partition = partitionOf(event.aggregateId, options.partitions);
  return {
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
}
