import type { EntityManager } from '@mikro-orm/postgresql';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';
import { Match } from './Match.js';
import { MatchRequest } from './MatchRequest.js';
import { User } from './User.js';

export type MatchRequestOutcome = { status: 'waiting' } | { status: 'matched'; matchId: string };

/**
 * Puts a user on the waiting list, or pairs them with the oldest waiting user of the same region
 * who shares an interest. One transaction: the match row, its event and the removal of the
 * partner's request commit together. Every decision in a region holds that region's advisory
 * lock, so two requests can never both take the same waiting partner, nor both wait when they
 * could have been paired with each other.
 */
export async function requestMatch(
  em: EntityManager,
  userId: string,
): Promise<MatchRequestOutcome> {
  return em.transactional(async (tem) => {
    const user = await tem.findOne(User, { id: userId });
    if (!user) throw MatchServiceError.notFound('user', userId);
    // A single bigint key: a different key space from the relay's (int4, int4) partition locks.
    await tem.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [
      `match-service:region:${user.region}`,
    ]);
    const active = await tem.execute<unknown[]>(
      `select 1 from matches where status = 'active' and user_ids @> array[?]::uuid[] limit 1`,
      [userId],
    );
    if (active.length > 0) {
      throw new MatchServiceError(
        MatchServiceErrorCode.AlreadyMatched,
        `user ${userId} already has an active match; cancel it first`,
      );
    }
    if (await tem.findOne(MatchRequest, { userId })) return { status: 'waiting' } as const;
    const [partner] = await tem.execute<{ user_id: string }[]>(
      `select user_id from match_requests
        where region = ? and user_id <> ? and interests && (select interests from users where id = ?)
        order by created_at, user_id
        limit 1`,
      [user.region, userId, userId],
    );
    if (!partner) {
      const request = tem.create(MatchRequest, {
        userId,
        region: user.region,
        interests: user.interests,
        createdAt: new Date(),
      });
      tem.persist(request);
      return { status: 'waiting' } as const;
    }
    await tem.nativeDelete(MatchRequest, { userId: partner.user_id });
    // The partner asked first, so they come first.
    const match = Match.create([partner.user_id, userId], user.region);
    tem.persist(match);
    return { status: 'matched', matchId: match.id } as const;
  });
}
