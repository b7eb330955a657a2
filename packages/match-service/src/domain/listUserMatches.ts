import type { EntityManager } from '@mikro-orm/postgresql';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';
import { Match } from './Match.js';
import { User } from './User.js';

/** @defaultValue 20 */
export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;

export interface MatchPage {
  items: Match[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * A user's matches, newest first, with keyset pagination: the cursor names the last match seen
 * (created_at, id), so pages stay stable while new matches are created.
 */
export async function listUserMatches(
  em: EntityManager,
  userId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<MatchPage> {
  if (!(await em.findOne(User, { id: userId }))) throw MatchServiceError.notFound('user', userId);
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const items = await em.find(
    Match,
    {
      userIds: { $contains: [userId] },
      ...(after
        ? {
            $or: [
              { createdAt: { $lt: after.createdAt } },
              { createdAt: after.createdAt, id: { $lt: after.id } },
            ],
          }
        : {}),
    },
    { orderBy: { createdAt: 'desc', id: 'desc' }, limit: page.limit + 1 },
  );
  const more = items.length > page.limit;
  const shown = more ? items.slice(0, page.limit) : items;
  const last = shown.at(-1);
  return { items: shown, nextCursor: more && last ? encodeCursor(last) : null };
}

function encodeCursor(match: Match): string {
  return Buffer.from(JSON.stringify([match.createdAt.toISOString(), match.id])).toString(
    'base64url',
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      const createdAt = new Date(String(at));
      if (typeof id === 'string' && UUID.test(id) && !Number.isNaN(createdAt.getTime())) {
        return { createdAt, id };
      }
    }
  } catch {
    // fall through to the error below
  }
  throw new MatchServiceError(MatchServiceErrorCode.InvalidQuery, 'cursor is not valid', [
    { field: 'cursor', message: 'must be a cursor returned as nextCursor' },
  ]);
}
