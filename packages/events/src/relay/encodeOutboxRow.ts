import { encodeCloudEvent, type EncodedMessage } from '../cloudevents/encodeCloudEvent.js';
import type { ClaimedRow } from './outboxSql.js';

/** The CloudEvent of an outbox row, in the NATS binding's binary mode (what the relay sends). */
export function encodeOutboxRow(
  row: Pick<
    ClaimedRow,
    'id' | 'source' | 'type' | 'aggregate_id' | 'created_at' | 'dataschema' | 'headers' | 'data'
  >,
): EncodedMessage {
  return encodeCloudEvent({
    specversion: '1.0',
    id: row.id,
    source: row.source,
    type: row.type,
    subject: row.aggregate_id,
    time: row.created_at.toISOString(),
    dataschema: row.dataschema,
    datacontenttype: 'application/json',
    partitionkey: row.aggregate_id,
    ...row.headers,
    // The jsonb text as PostgreSQL returned it: never parsed and re-serialised.
    data: Buffer.from(row.data),
  });
}
