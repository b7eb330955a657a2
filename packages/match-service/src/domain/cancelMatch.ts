import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';
import { Match, type CancelReason } from './Match.js';

/**
 * Cancels a match and records `com.jetbox.match.cancelled`, in one transaction. The row lock
 * makes a second, concurrent cancel wait and then see the match cancelled: it fails with
 * `ALREADY_CANCELLED`, so exactly one cancelled event exists.
 */
export async function cancelMatch(
  em: EntityManager,
  matchId: string,
  reason: CancelReason,
): Promise<Match> {
  return em.transactional(async (tem) => {
    const match = await tem.findOne(
      Match,
      { id: matchId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!match) throw MatchServiceError.notFound('match', matchId);
    if (!match.cancel(reason)) {
      throw new MatchServiceError(
        MatchServiceErrorCode.AlreadyCancelled,
        `match ${matchId} was already cancelled`,
      );
    }
    return match;
  });
}
