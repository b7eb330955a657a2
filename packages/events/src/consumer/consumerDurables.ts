import { JetboxError } from '../errors.js';
import type { ConsumerOptions } from './consumerOptions.js';

/** One JetStream durable a consumer pulls from. */
export interface ConsumerDurable {
  name: string;
  /** Its subject filter(s); empty means the whole stream. */
  subjects: string[];
}

/** Tokens before the partition: `<prefix>.<domain>.<event>`. */
const TOKENS_BEFORE_PARTITION = 3;

/**
 * The filter of `subject` narrowed to one partition: `events.match.>` → `events.match.*.3`,
 * `events.>` → `events.*.*.3`, `events.match.created` → `events.match.created.3`. Fails naming
 * `property` when the filter cannot end in a partition token.
 */
export function partitionFilter(subject: string, partition: number, property: string): string {
  const tokens = subject.split('.');
  if (tokens.at(-1) === '>') {
    tokens.pop();
    while (tokens.length < TOKENS_BEFORE_PARTITION) tokens.push('*');
  }
  if (tokens.length !== TOKENS_BEFORE_PARTITION || tokens.includes('>')) {
    throw JetboxError.invalidOption(
      property,
      `${subject} cannot be split by partition: use <prefix>.<domain>.<event> or a filter ending in > before the partition token`,
    );
  }
  return [...tokens, String(partition)].join('.');
}

/**
 * The durables behind a consumer: one named `name` with the `subjects` filter, or with
 * `partitions`, one per partition named `<name>-p<partition>`. A durable per partition (rather
 * than per instance) keeps each partition's position when instances are added or removed.
 */
export function consumerDurables(
  options: Pick<ConsumerOptions, 'name' | 'subjects' | 'partitions'>,
): ConsumerDurable[] {
  if (options.partitions.length === 0) {
    return [{ name: options.name, subjects: [...options.subjects] }];
  }
  return options.partitions.map((partition) => ({
    name: `${options.name}-p${partition}`,
    subjects: options.subjects.map((s, i) => partitionFilter(s, partition, `subjects[${i}]`)),
  }));
}
