import { JetboxError } from '../errors.js';

/** Subject prefix of domain events; a subject is `events.<domain>.<event>.<partition>`. */
export const DEFAULT_SUBJECT_PREFIX = 'events';
/** @defaultValue 16 partitions */
export const DEFAULT_PARTITIONS = 16;

/**
 * Stable partition of a partition key: FNV-1a (32-bit) of its UTF-8 bytes modulo `partitions`.
 * Stable across processes, versions and languages, so producers and consumers always agree.
 */
export function partitionOf(key: string, partitions: number = DEFAULT_PARTITIONS): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw JetboxError.invalidOption('partitions', `must be a positive integer, got ${partitions}`);
  }
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** `events.match.created.7` for segment `match.created` and partition 7. */
export function eventSubject(
  segment: string,
  partition: number,
  prefix: string = DEFAULT_SUBJECT_PREFIX,
): string {
  return `${prefix}.${segment}.${partition}`;
}
