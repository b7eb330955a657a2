import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import { streamConfigOf, streamDifferences, type StreamDifference } from './streamConfig.js';
import {
  resolveStreamsOptions,
  type StreamOptions,
  type StreamsOptions,
} from './streamsOptions.js';

/** What {@link applyStreams} did to one stream. */
export interface StreamApplyResult {
  name: string;
  action: 'created' | 'updated' | 'unchanged';
  /** Each difference found before applying, as `field: current → declared`. */
  drift: string[];
}

/** What {@link streamsStatus} found for one stream; `action` is what `applyStreams` would do. */
export interface StreamStatusResult extends StreamApplyResult {
  /** Whether the stream exists on the server. */
  exists: boolean;
  /** Why `applyStreams` would refuse this stream (e.g. a storage change), if it would. */
  refusal?: string;
}

interface StreamPlan {
  options: StreamOptions;
  info: StreamInfo | undefined;
  differences: StreamDifference[];
}

/**
 * Creates the declared streams or updates them to match, idempotently: running it again
 * changes nothing and reports `unchanged`. Checks every stream before changing any, and refuses
 * (code `STREAM_CONFIG`, naming stream and field) a change JetStream cannot make in place, such
 * as the storage type, the retention policy, or replicas on a server that is not clustered.
 */
export async function applyStreams(
  jsm: JetStreamManager,
  options: StreamsOptions,
): Promise<StreamApplyResult[]> {
  const plans = await planStreams(jsm, options);
  for (const plan of plans) {
    const refused = plan.differences.filter((d) => d.refusal);
    if (refused.length > 0) {
      const why = refused.map((d) => `${d.text} (${d.refusal})`).join('; ');
      throw new JetboxError(
        JetboxErrorCode.StreamConfig,
        `stream ${plan.options.name} cannot be changed to its declaration: ${why}`,
      );
    }
  }
  const results: StreamApplyResult[] = [];
  for (const { options: stream, info, differences } of plans) {
    const drift = differences.map((d) => d.text);
    const config = streamConfigOf(stream);
    if (info === undefined) {
      await serverCall(stream.name, 'create', () => jsm.streams.add(config));
      results.push({ name: stream.name, action: 'created', drift });
    } else if (differences.length > 0) {
      const { name: _name, retention: _retention, storage: _storage, ...update } = config;
      await serverCall(stream.name, 'update', () => jsm.streams.update(stream.name, update));
      results.push({ name: stream.name, action: 'updated', drift });
    } else {
      results.push({ name: stream.name, action: 'unchanged', drift });
    }
  }
  return results;
}

/** Reports, without changing anything, how each declared stream differs from the server's. */
export async function streamsStatus(
  jsm: JetStreamManager,
  options: StreamsOptions,
): Promise<StreamStatusResult[]> {
  const plans = await planStreams(jsm, options);
  return plans.map(({ options: stream, info, differences }) => {
    const refused = differences.filter((d) => d.refusal);
    const action =
      info === undefined ? 'created' : differences.length > 0 ? 'updated' : 'unchanged';
    return {
      name: stream.name,
      action,
      drift: differences.map((d) => d.text),
      exists: info !== undefined,
      ...(refused.length > 0
        ? { refusal: refused.map((d) => `${d.field}: ${d.refusal}`).join('; ') }
        : {}),
    };
  });
}

async function planStreams(jsm: JetStreamManager, options: StreamsOptions): Promise<StreamPlan[]> {
  const resolved = resolveStreamsOptions(options);
  const plans: StreamPlan[] = [];
  for (const stream of [resolved.events, resolved.deadLetter]) {
    const info = await serverCall(stream.name, 'read', () =>
      jsm.streams.info(stream.name).catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
          return undefined;
        }
        throw err;
      }),
    );
    plans.push({ options: stream, info, differences: info ? streamDifferences(info, stream) : [] });
  }
  return plans;
}

async function serverCall<T>(stream: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof JetboxError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new JetboxError(
      JetboxErrorCode.StreamConfig,
      `cannot ${what} stream ${stream}: ${message}`,
      { cause: err },
    );
  }
}
