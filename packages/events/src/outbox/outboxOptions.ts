import { DEFAULT_PARTITIONS, DEFAULT_SUBJECT_PREFIX } from '../jetstream/subjects.js';
import { JetboxError } from '../errors.js';
import { definedOnly } from '../config.js';

/** @defaultValue 1 MiB — the NATS default max payload. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

export interface OutboxOptions {
  /** CloudEvent `source` of every event, e.g. `/match-service`. */
  source: string;
  /** Partition count for subjects; must match the consumers'. @defaultValue 16 */
  partitions?: number;
  /** @defaultValue `events` */
  subjectPrefix?: string;
  /** Largest serialised event data accepted at record time. @defaultValue 1 MiB */
  maxEventBytes?: number;
}

export type ResolvedOutboxOptions = Required<OutboxOptions>;

export function resolveOutboxOptions(options: OutboxOptions): ResolvedOutboxOptions {
  const o = {
    partitions: DEFAULT_PARTITIONS,
    subjectPrefix: DEFAULT_SUBJECT_PREFIX,
    maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
    ...definedOnly(options),
    source: options.source,
  };
  if (typeof o.source !== 'string' || o.source.length === 0) {
    throw JetboxError.invalidOption(
      'outbox.source',
      'must be a non-empty string such as "/match-service"',
    );
  }
  if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > 1024) {
    throw JetboxError.invalidOption(
      'outbox.partitions',
      `must be an integer from 1 to 1024, got ${o.partitions}`,
    );
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(o.subjectPrefix)) {
    throw JetboxError.invalidOption(
      'outbox.subjectPrefix',
      `must be a NATS subject without wildcards, got ${o.subjectPrefix}`,
    );
  }
  if (!Number.isInteger(o.maxEventBytes) || o.maxEventBytes < 1) {
    throw JetboxError.invalidOption(
      'outbox.maxEventBytes',
      `must be a positive integer, got ${o.maxEventBytes}`,
    );
  }
  return o;
}
