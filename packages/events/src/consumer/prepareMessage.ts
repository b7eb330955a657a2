import {
  getEventDefinition,
  isEventType,
  parseDataschema,
  upcastEvent,
  type EventType,
  type UpcasterMap,
} from '@jetbox/schemas';
import type { CloudEvent } from 'cloudevents';
import { decodeCloudEvent, type CloudEventMessage } from '../cloudevents/decodeCloudEvent.js';
import type { DeadLetterReason } from './deadLetterHeaders.js';

/** A message ready for its handler: decoded, validated and upcast to the latest version. */
export interface PreparedEvent {
  ok: true;
  event: CloudEvent<unknown>;
  type: EventType;
  /** Data at the latest version of the type. */
  data: unknown;
  /** Events with the same key are handled one at a time, in stream order. */
  key: string;
}

/** A message no retry can fix. */
export interface RejectedMessage {
  ok: false;
  reason: DeadLetterReason;
  error: Error;
  event?: CloudEvent<unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Decodes, validates and upcasts one message. Types without a handler in `handled` come back
 * prepared but unvalidated: the consumer only acknowledges them.
 */
export function prepareMessage(
  msg: CloudEventMessage,
  handled: (type: EventType) => boolean,
  upcasters: UpcasterMap,
): PreparedEvent | RejectedMessage {
  let event: CloudEvent<unknown>;
  try {
    event = decodeCloudEvent(msg);
  } catch (err) {
    return { ok: false, reason: 'decode-failed', error: asError(err) };
  }
  if (!UUID.test(event.id)) {
    return reject('invalid-event', `event id ${JSON.stringify(event.id)} is not a UUID`, event);
  }
  const type = event.type;
  if (!isEventType(type)) {
    return reject('unknown-type', `unknown CloudEvent type ${JSON.stringify(type)}`, event);
  }
  const key = keyOf(event);
  if (!handled(type)) return { ok: true, event, type, data: event.data, key };
  let version = getEventDefinition(type).latest;
  try {
    if (typeof event.dataschema === 'string') {
      const schema = parseDataschema(event.dataschema);
      if (schema.type !== type) {
        return reject(
          'invalid-data',
          `dataschema ${event.dataschema} is for ${schema.type}, not for the event's type ${type}`,
          event,
        );
      }
      version = schema.version;
    }
    // upcastEvent validates against the message's own version and every step after it.
    const data: unknown = upcastEvent(type, version, event.data, upcasters);
    return { ok: true, event, type, data, key };
  } catch (err) {
    return { ok: false, reason: 'invalid-data', error: asError(err), event };
  }
}

/** `partitionkey`, else the CloudEvent `subject` (the aggregate id), else the event's own id. */
function keyOf(event: CloudEvent<unknown>): string {
  const partitionKey = event.partitionkey;
  if (typeof partitionKey === 'string' && partitionKey !== '') return partitionKey;
  if (typeof event.subject === 'string' && event.subject !== '') return event.subject;
  return event.id;
}

function reject(
  reason: DeadLetterReason,
  message: string,
  event: CloudEvent<unknown>,
): RejectedMessage {
  return { ok: false, reason, error: new Error(message), event };
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
