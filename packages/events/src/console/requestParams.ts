import type { ParameterizedContext } from 'koa';
import { ConsoleError } from './ConsoleError.js';
import { DEFAULT_CONSOLE_DLQ_LIMIT, MAX_CONSOLE_DLQ_LIMIT } from './consoleOptions.js';

/** The dead-letter filters a request asked for. */
export interface DlqFilters {
  consumer?: string;
  type?: string;
  reason?: string;
}

// A consumer name becomes a subject token of the server-side filter: `.`, `*` and `>` in it
// would widen the filter to other consumers' dead letters.
const CONSUMER = /^[^\s.*>]{1,255}$/;
const TYPE = /^[\x21-\x7e]{1,255}$/;
const REASON = /^[a-z][a-z0-9-]{0,63}$/;
const SEQ = /^[1-9][0-9]{0,15}$/;

/** A query parameter given at most once; empty counts as absent (an empty filter field). */
export function queryParam(ctx: ParameterizedContext, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw ConsoleError.invalidParameter(name, 'must be given at most once');
  return value === undefined || value === '' ? undefined : value;
}

function matching(ctx: ParameterizedContext, name: string, pattern: RegExp, problem: string) {
  const value = queryParam(ctx, name);
  if (value !== undefined && !pattern.test(value))
    throw ConsoleError.invalidParameter(name, `${problem}, got ${JSON.stringify(value)}`);
  return value;
}

export function dlqFilters(ctx: ParameterizedContext): DlqFilters {
  const consumer = matching(ctx, 'consumer', CONSUMER, 'must be a consumer name (no ., * or >)');
  const type = matching(ctx, 'type', TYPE, 'must be a CloudEvent type');
  const reason = matching(ctx, 'reason', REASON, 'must be a reason such as max-deliveries');
  return {
    ...(consumer ? { consumer } : {}),
    ...(type ? { type } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** `limit`: 1 to 1000. @defaultValue 200 */
export function dlqLimit(ctx: ParameterizedContext): number {
  const raw = queryParam(ctx, 'limit');
  if (raw === undefined) return DEFAULT_CONSOLE_DLQ_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONSOLE_DLQ_LIMIT)
    throw ConsoleError.invalidParameter(
      'limit',
      `must be an integer from 1 to ${MAX_CONSOLE_DLQ_LIMIT}, got ${JSON.stringify(raw)}`,
    );
  return n;
}

/** The `:seq` path parameter: a dead-letter stream sequence. */
export function seqParam(raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || !SEQ.test(raw) || !Number.isSafeInteger(n))
    throw ConsoleError.invalidParameter(
      'seq',
      `must be a dead-letter sequence (a positive integer), got ${JSON.stringify(raw ?? '')}`,
    );
  return n;
}
