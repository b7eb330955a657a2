import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { StreamOptions } from './streamsOptions.js';

const NANOS_PER_MS = 1_000_000;

/** The JetStream fields jetbox manages for `options`; everything else keeps the server's value. */
export function streamConfigOf(options: StreamOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: options.name,
    subjects: [...options.subjects],
    ...(options.description === undefined ? {} : { description: options.description }),
    retention: RetentionPolicy.Limits,
    storage: options.storage === 'file' ? StorageType.File : StorageType.Memory,
    num_replicas: options.replicas,
    duplicate_window: options.duplicateWindowMs * NANOS_PER_MS,
    max_age: options.maxAgeMs * NANOS_PER_MS,
    max_bytes: options.maxBytes,
    max_msgs: options.maxMsgs,
    max_msg_size: options.maxMsgSize,
    discard: options.discard === 'old' ? DiscardPolicy.Old : DiscardPolicy.New,
  };
}

/** One difference between a stream on the server and its declaration. */
export interface StreamDifference {
  /** JetStream config field, e.g. `duplicate_window`. */
  field: string;
  /** `duplicate_window: 60s → 120s` (current → declared). */
  text: string;
  /** Why JetStream cannot make this change in place, if it cannot. */
  refusal?: string;
}

/** Differences between `info` (the server's stream) and `options`, in a stable order. */
export function streamDifferences(info: StreamInfo, options: StreamOptions): StreamDifference[] {
  const current = info.config;
  const desired = streamConfigOf(options);
  const out: StreamDifference[] = [];
  const add = (field: string, from: string, to: string, refusal?: string) =>
    out.push({ field, text: `${field}: ${from} → ${to}`, ...(refusal ? { refusal } : {}) });

  const subjectsNow = [...(current.subjects ?? [])].sort();
  const subjectsWanted = [...desired.subjects!].sort();
  if (subjectsNow.join('\n') !== subjectsWanted.join('\n')) {
    add('subjects', `[${current.subjects?.join(', ') ?? ''}]`, `[${desired.subjects!.join(', ')}]`);
  }
  if (desired.description !== undefined && (current.description ?? '') !== desired.description) {
    add(
      'description',
      JSON.stringify(current.description ?? ''),
      JSON.stringify(desired.description),
    );
  }
  if (current.retention !== desired.retention) {
    add(
      'retention',
      current.retention,
      desired.retention!,
      'JetStream cannot change the retention policy of a stream',
    );
  }
  if (current.storage !== desired.storage) {
    add(
      'storage',
      current.storage,
      desired.storage!,
      'JetStream cannot change the storage type of a stream; create a new stream and move the messages',
    );
  }
  if (current.num_replicas !== desired.num_replicas) {
    // nats-server 2.9 accepts a replicas change on a single server, records it, and still keeps
    // one copy: refuse it here rather than report a replication that does not exist.
    const clustered = info.cluster?.name !== undefined;
    add(
      'num_replicas',
      String(current.num_replicas),
      String(desired.num_replicas),
      clustered ? undefined : 'the server is not clustered, so a stream can have only 1 replica',
    );
  }
  const durations = ['duplicate_window', 'max_age'] as const;
  for (const field of durations) {
    if (current[field] !== desired[field])
      add(field, duration(current[field]), duration(desired[field]!));
  }
  const limits = ['max_bytes', 'max_msgs', 'max_msg_size', 'discard'] as const;
  for (const field of limits) {
    if (current[field] !== desired[field])
      add(field, limit(current[field]), limit(desired[field]!));
  }
  return out;
}

function duration(nanos: number): string {
  if (nanos === 0) return 'unlimited';
  const ms = nanos / NANOS_PER_MS;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function limit(value: number | string): string {
  return value === -1 ? 'unlimited' : String(value);
}
