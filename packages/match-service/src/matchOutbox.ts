import { createOutbox, type Outbox, type OutboxOptions } from '@jetbox/events';

/** CloudEvent `source` of every event match-service records. */
export const MATCH_SERVICE_SOURCE = '/match-service';

/** The outbox of match-service: its events carry `source: /match-service`. */
export function createMatchOutbox(options: Omit<OutboxOptions, 'source'> = {}): Outbox {
  return createOutbox({ ...options, source: MATCH_SERVICE_SOURCE });
}
