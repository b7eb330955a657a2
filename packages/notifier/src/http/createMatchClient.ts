import { NonRetryableError } from '@jetbox/events';
import type { ResilientHttp } from './createResilientHttp.js';

/** What notifier needs of a match, as `GET /matches/:id` of match-service answers it. */
export interface MatchView {
  id: string;
  userIds: [string, string];
  status: 'active' | 'cancelled';
}

export interface MatchClient {
  /**
   * The match's current state. A match match-service does not know (404), or any other answer
   * no retry can change, is a `NonRetryableError`, so its event is dead-lettered.
   */
  get(matchId: string, signal: AbortSignal): Promise<MatchView>;
}

export function createMatchClient(baseUrl: string, http: ResilientHttp): MatchClient {
  return {
    async get(matchId, signal) {
      const url = `${baseUrl}/matches/${encodeURIComponent(matchId)}`;
      const response = await http.fetch(url, { headers: { accept: 'application/json' } }, signal);
      if (response.status === 404) {
        throw new NonRetryableError(`match ${matchId} does not exist at match-service (${url})`);
      }
      if (!response.ok) {
        throw new NonRetryableError(
          `match-service answered HTTP ${response.status} for ${url}: ${response.body.slice(0, 300)}`,
        );
      }
      const body = parseJson(response.body) as Partial<MatchView> | undefined;
      if (
        body?.id !== matchId ||
        !Array.isArray(body.userIds) ||
        body.userIds.length !== 2 ||
        (body.status !== 'active' && body.status !== 'cancelled')
      ) {
        throw new NonRetryableError(
          `match-service answered ${url} with an unexpected body: ${response.body.slice(0, 300)}`,
        );
      }
      return { id: body.id, userIds: [body.userIds[0], body.userIds[1]], status: body.status };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
