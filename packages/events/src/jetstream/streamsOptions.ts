import { JetboxError } from '../errors.js';
import { DEFAULT_SUBJECT_PREFIX } from './subjects.js';

/** @defaultValue `JETBOX_EVENTS` */
export const DEFAULT_EVENTS_STREAM = 'JETBOX_EVENTS';
/** @defaultValue `JETBOX_DLQ` */
export const DEFAULT_DLQ_STREAM = 'JETBOX_DLQ';
/** Subject prefix of dead letters: `dlq.<consumer>…`. @defaultValue `dlq` */
export const DEFAULT_DLQ_SUBJECT_PREFIX = 'dlq';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
// Beyond this, max_age in nanoseconds is no longer an exact JavaScript number.
const MAX_DURATION_MS = 10 * 365 * DAY;

/** One JetStream stream as jetbox declares it. */
export interface StreamOptions {
  name: string;
  subjects: string[];
  /** Shown by `nats stream info`. @defaultValue none */
  description?: string;
  /** 1 on a single server, 3 in a cluster. @defaultValue 1 */
  replicas: number;
  /** @defaultValue `'file'` */
  storage: 'file' | 'memory';
  /**
   * How long JetStream remembers a `Nats-Msg-Id` to drop a re-published copy. Must cover the
   * relay's worst gap between publishing an event and retrying it.
   * @defaultValue 2 minutes
   */
  duplicateWindowMs: number;
  /** Messages older than this are removed; 0 keeps them forever. @defaultValue 7 days (events), 30 days (dead letters) */
  maxAgeMs: number;
  /** Size limit of the stream in bytes; -1 for none (then `maxAgeMs` bounds it). @defaultValue -1 */
  maxBytes: number;
  /** Message count limit; -1 for none. @defaultValue -1 */
  maxMsgs: number;
  /**
   * Largest message (headers + body) the stream accepts; -1 for the server's `max_payload`.
   * @defaultValue 1 MiB (events), -1 (dead letters, which add reason headers to the original)
   */
  maxMsgSize: number;
  /** What a full stream does: drop the oldest messages, or refuse new ones. @defaultValue `'old'` */
  discard: 'old' | 'new';
}

/** The streams jetbox uses: domain events and dead letters. */
export interface StreamsOptions {
  events: StreamOptions;
  deadLetter: StreamOptions;
}

/** What callers pass to {@link resolveStreamsOptions}: any subset of the options. */
export interface StreamsOptionsInput {
  events?: Partial<StreamOptions>;
  deadLetter?: Partial<StreamOptions>;
}

/** Defaults of the domain-events stream. */
export const DEFAULT_EVENTS_STREAM_OPTIONS: Readonly<StreamOptions> = Object.freeze({
  name: DEFAULT_EVENTS_STREAM,
  subjects: [`${DEFAULT_SUBJECT_PREFIX}.>`],
  replicas: 1,
  storage: 'file',
  duplicateWindowMs: 2 * MINUTE,
  maxAgeMs: 7 * DAY,
  maxBytes: -1,
  maxMsgs: -1,
  maxMsgSize: 1024 * 1024,
  discard: 'old',
});

/** Defaults of the dead-letter stream: kept longer, so operators can inspect and redrive. */
export const DEFAULT_DLQ_STREAM_OPTIONS: Readonly<StreamOptions> = Object.freeze({
  name: DEFAULT_DLQ_STREAM,
  subjects: [`${DEFAULT_DLQ_SUBJECT_PREFIX}.>`],
  replicas: 1,
  storage: 'file',
  duplicateWindowMs: 2 * MINUTE,
  maxAgeMs: 30 * DAY,
  maxBytes: -1,
  maxMsgs: -1,
  maxMsgSize: -1,
  discard: 'old',
});

const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** Merges `input` over the defaults and validates; throws naming the property, e.g. `streams.events.replicas`. */
export function resolveStreamsOptions(input: StreamsOptionsInput = {}): StreamsOptions {
  const events = resolveStream('streams.events', DEFAULT_EVENTS_STREAM_OPTIONS, input.events);
  const deadLetter = resolveStream(
    'streams.deadLetter',
    DEFAULT_DLQ_STREAM_OPTIONS,
    input.deadLetter,
  );
  if (events.name === deadLetter.name) {
    throw JetboxError.invalidOption(
      'streams.deadLetter.name',
      `must differ from the events stream (${events.name})`,
    );
  }
  for (const a of events.subjects) {
    for (const b of deadLetter.subjects) {
      if (subjectsOverlap(a, b)) {
        throw JetboxError.invalidOption(
          'streams.deadLetter.subjects',
          `${b} overlaps the events stream's subject ${a}`,
        );
      }
    }
  }
  return { events, deadLetter };
}

function resolveStream(
  path: string,
  defaults: Readonly<StreamOptions>,
  input: Partial<StreamOptions> | undefined,
): StreamOptions {
  const merged: StreamOptions = { ...defaults, subjects: [...defaults.subjects] };
  for (const [key, value] of Object.entries(input ?? {})) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  const fail = (property: string, problem: string) =>
    JetboxError.invalidOption(`${path}.${property}`, problem);

  if (typeof merged.name !== 'string' || !STREAM_NAME.test(merged.name)) {
    throw fail('name', `must be 1-255 letters, digits, _ or -, got ${JSON.stringify(merged.name)}`);
  }
  if (!Array.isArray(merged.subjects) || merged.subjects.length === 0) {
    throw fail('subjects', 'must be a non-empty array of subjects');
  }
  merged.subjects.forEach((subject, i) => {
    const problem = subjectProblem(subject);
    if (problem) throw fail(`subjects[${i}]`, problem);
  });
  if (merged.description !== undefined && typeof merged.description !== 'string') {
    throw fail('description', 'must be a string');
  }
  if (!Number.isInteger(merged.replicas) || merged.replicas < 1 || merged.replicas > 5) {
    throw fail('replicas', `must be an integer from 1 to 5, got ${merged.replicas}`);
  }
  if (merged.storage !== 'file' && merged.storage !== 'memory') {
    throw fail('storage', `must be 'file' or 'memory', got ${String(merged.storage)}`);
  }
  if (merged.discard !== 'old' && merged.discard !== 'new') {
    throw fail('discard', `must be 'old' or 'new', got ${String(merged.discard)}`);
  }
  checkDuration(fail, 'duplicateWindowMs', merged.duplicateWindowMs, 1);
  checkDuration(fail, 'maxAgeMs', merged.maxAgeMs, 0);
  if (merged.maxAgeMs > 0 && merged.duplicateWindowMs > merged.maxAgeMs) {
    throw fail(
      'duplicateWindowMs',
      `must not exceed maxAgeMs (${merged.maxAgeMs}), got ${merged.duplicateWindowMs}`,
    );
  }
  checkLimit(fail, 'maxBytes', merged.maxBytes);
  checkLimit(fail, 'maxMsgs', merged.maxMsgs);
  checkLimit(fail, 'maxMsgSize', merged.maxMsgSize);
  return merged;
}

function checkDuration(
  fail: (property: string, problem: string) => JetboxError,
  property: string,
  value: number,
  min: number,
): void {
  if (!Number.isInteger(value) || value < min || value > MAX_DURATION_MS) {
    throw fail(
      property,
      `must be an integer number of milliseconds from ${min} to ${MAX_DURATION_MS}, got ${value}`,
    );
  }
}

function checkLimit(
  fail: (property: string, problem: string) => JetboxError,
  property: string,
  value: number,
): void {
  if (!Number.isSafeInteger(value) || value === 0 || value < -1) {
    throw fail(property, `must be a positive integer, or -1 for no limit, got ${value}`);
  }
}

/** Why `subject` is not a valid stream subject, or `undefined`. */
function subjectProblem(subject: unknown): string | undefined {
  if (typeof subject !== 'string' || subject === '') return 'must be a non-empty string';
  if (/[\s]/.test(subject)) return `must not contain whitespace, got ${JSON.stringify(subject)}`;
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '') return `has an empty token: ${subject}`;
    if (token.includes('>') && (token !== '>' || i !== tokens.length - 1)) {
      return `may use > only as the whole last token: ${subject}`;
    }
    if (token.includes('*') && token !== '*') return `may use * only as a whole token: ${subject}`;
  }
  return undefined;
}

/** Whether some subject matches both patterns (JetStream refuses overlapping streams). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    // `>` stands for one or more tokens, so the other pattern needs a token here.
    if (p === '>') return q !== undefined;
    if (q === '>') return p !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== q && p !== '*' && q !== '*') return false;
  }
  return true;
}
