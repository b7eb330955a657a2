import type { Context } from 'koa';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';

/** Largest request body accepted. @defaultValue 64 KiB */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Reads and parses a JSON request body, refusing more than `limit` bytes before reading them
 * all. Returns `undefined` for an empty body.
 */
export async function readJsonBody(
  ctx: Context,
  limit = DEFAULT_BODY_LIMIT_BYTES,
): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > limit) throw tooLarge(ctx, limit);
  const raw = await readRaw(ctx, limit);
  if (raw.length === 0) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new MatchServiceError(
      MatchServiceErrorCode.UnsupportedMediaType,
      'request bodies must be application/json',
      [
        {
          field: 'content-type',
          message: `must be application/json, got ${ctx.get('content-type') || 'none'}`,
        },
      ],
    );
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new MatchServiceError(
      MatchServiceErrorCode.MalformedJson,
      `the body is not valid JSON: ${(err as Error).message}`,
      [],
      { cause: err },
    );
  }
}

/**
 * Collects the body up to `limit` bytes. Past the limit it rejects at once but keeps reading
 * and discarding (destroying the stream would reset the socket before the 413 is sent).
 */
function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) return;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge(ctx, limit));
        return;
      }
      chunks.push(chunk);
    });
    ctx.req.once('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    ctx.req.once('error', reject);
  });
}

function tooLarge(ctx: Context, limit: number): MatchServiceError {
  // The connection is closed after the answer, so a client still sending cannot keep it busy.
  ctx.req.resume();
  ctx.set('Connection', 'close');
  return new MatchServiceError(
    MatchServiceErrorCode.BodyTooLarge,
    `request bodies are limited to ${limit} bytes`,
  );
}
