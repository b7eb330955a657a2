import { EntitySchema } from '@mikro-orm/core';

/** A row of `jetbox_inbox`: consumer `consumer` has applied event `eventId`. */
export interface InboxMessage {
  consumer: string;
  eventId: string;
  processedAt: Date;
}

export const InboxMessageSchema = new EntitySchema<InboxMessage>({
  name: 'JetboxInboxMessage',
  tableName: 'jetbox_inbox',
  properties: {
    consumer: { type: 'text', primary: true },
    eventId: { type: 'uuid', primary: true },
    processedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
