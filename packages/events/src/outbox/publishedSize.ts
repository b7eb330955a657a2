import type { MsgHdrsImpl } from '@nats-io/nats-core';
import { encodeOutboxRow } from '../relay/encodeOutboxRow.js';
import type { OutboxMessage } from './OutboxMessage.js';

/**
 * The size of the NATS message the relay will publish for `row`, for the record-time limit: its
 * CloudEvents headers as encoded, plus its data as PostgreSQL's jsonb prints it (what the relay
 * sends), which can be longer than `JSON.stringify`'s.
 */
export function publishedSize(row: OutboxMessage): { headers: number; data: number } {
  const { headers } = encodeOutboxRow({
    id: row.id,
    source: row.source,
    type: row.type,
    aggregate_id: row.aggregateId,
    created_at: row.createdAt,
    dataschema: row.dataschema,
    headers: row.headers,
    data: '',
  });
  // encodeCloudEvent builds a MsgHdrsImpl, whose encode() gives the header block as sent.
  return { headers: (headers as MsgHdrsImpl).encode().length, data: jsonbTextBytes(row.data) };
}

/**
 * At least the bytes of jsonb's text form of `value`: `JSON.stringify`'s, plus the space jsonb
 * prints after every `:` and `,`, plus the digits a number in exponent form gets (jsonb prints
 * `1e21` in full).
 */
export function jsonbTextBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null') + jsonbExtra(value);
}

function jsonbExtra(value: unknown): number {
  if (typeof value === 'number') {
    const exponent = /e([+-]\d+)$/.exec(String(value));
    return exponent ? Math.abs(Number(exponent[1])) + 2 : 0;
  }
  if (Array.isArray(value)) {
    let extra = Math.max(0, value.length - 1);
    for (const item of value) extra += jsonbExtra(item);
    return extra;
  }
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return 0;
    const members = Object.values(value).filter(
      (v) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol',
    );
    let extra = members.length + Math.max(0, members.length - 1);
    for (const member of members) extra += jsonbExtra(member);
    return extra;
  }
  return 0;
}
