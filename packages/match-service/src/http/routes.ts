import type { ServiceState } from '@jetbox/service-kit';
import { Router } from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { cancelMatch } from '../domain/cancelMatch.js';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, listUserMatches } from '../domain/listUserMatches.js';
import { Match, type CancelReason } from '../domain/Match.js';
import { requestMatch } from '../domain/requestMatch.js';
import { User } from '../domain/User.js';
import { MatchServiceError, MatchServiceErrorCode } from '../errors.js';
import { parseCancel, parseCreateUser, parseMatchRequest } from './bodies.js';
import { readJsonBody } from './readJsonBody.js';

/** What each request carries: its own EntityManager, forked by the app's middleware. */
export type RequestState = ServiceState;
type Ctx = ParameterizedContext<RequestState>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id from the path; one that cannot exist is as unknown as one that does not. */
function idParam(ctx: Ctx, what: string): string {
  const id = (ctx.params as Record<string, string | undefined>).id ?? '';
  if (!UUID.test(id)) throw MatchServiceError.notFound(what, id);
  return id.toLowerCase();
}

export function userJson(user: User) {
  return {
    id: user.id,
    name: user.name,
    region: user.region,
    interests: user.interests,
    createdAt: user.createdAt.toISOString(),
  };
}

export function matchJson(match: Match) {
  return {
    id: match.id,
    userIds: match.userIds,
    status: match.status,
    createdAt: match.createdAt.toISOString(),
    ...(match.cancelledAt ? { cancelledAt: match.cancelledAt.toISOString() } : {}),
    ...(match.reasonCode
      ? {
          reason: {
            code: match.reasonCode,
            ...(match.reasonNote ? { note: match.reasonNote } : {}),
          },
        }
      : {}),
  };
}

function pageQuery(ctx: Ctx): { limit: number; cursor?: string } {
  const errors: { field: string; message: string }[] = [];
  const one = (name: string) => {
    const v = ctx.query[name];
    if (Array.isArray(v)) errors.push({ field: name, message: 'must be given once' });
    return typeof v === 'string' ? v : undefined;
  };
  const rawLimit = one('limit');
  const cursor = one('cursor');
  let limit = DEFAULT_PAGE_LIMIT;
  if (rawLimit !== undefined) {
    limit = Number(rawLimit);
    if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      errors.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` });
    }
  }
  if (cursor === '') errors.push({ field: 'cursor', message: 'must not be empty' });
  if (errors.length > 0) {
    throw new MatchServiceError(
      MatchServiceErrorCode.InvalidQuery,
      errors.map((e) => `${e.field} ${e.message}`).join('; '),
      errors,
    );
  }
  return cursor === undefined ? { limit } : { limit, cursor };
}

/** The business routes of the API (see the package README). */
export function apiRouter(): Router<RequestState> {
  const router = new Router<RequestState>();

  router.post('/users', async (ctx) => {
    const body = parseCreateUser(await readJsonBody(ctx));
    const user = User.register(body);
    await ctx.state.em.persist(user).flush();
    ctx.status = 201;
    ctx.set('Location', `/users/${user.id}`);
    ctx.body = userJson(user);
  });

  router.get('/users/:id', async (ctx) => {
    const id = idParam(ctx, 'user');
    const user = await ctx.state.em.findOne(User, { id });
    if (!user) throw MatchServiceError.notFound('user', id);
    ctx.body = userJson(user);
  });

  router.post('/users/:id/match-requests', async (ctx) => {
    const id = idParam(ctx, 'user');
    const body = await readJsonBody(ctx);
    if (body !== undefined) parseMatchRequest(body);
    const outcome = await requestMatch(ctx.state.em, id);
    if (outcome.status === 'matched') {
      ctx.status = 201;
      ctx.set('Location', `/matches/${outcome.matchId}`);
    } else {
      ctx.status = 202;
    }
    ctx.body = outcome;
  });

  router.get('/users/:id/matches', async (ctx) => {
    const id = idParam(ctx, 'user');
    const page = await listUserMatches(ctx.state.em, id, pageQuery(ctx));
    ctx.body = { items: page.items.map(matchJson), nextCursor: page.nextCursor };
  });

  router.get('/matches/:id', async (ctx) => {
    const id = idParam(ctx, 'match');
    const match = await ctx.state.em.findOne(Match, { id });
    if (!match) throw MatchServiceError.notFound('match', id);
    ctx.body = matchJson(match);
  });

  router.post('/matches/:id/cancel', async (ctx) => {
    const id = idParam(ctx, 'match');
    const { reason } = parseCancel(await readJsonBody(ctx));
    const normalized: CancelReason =
      typeof reason === 'string' ? { code: 'other', note: reason } : reason;
    const match = await cancelMatch(ctx.state.em, id, normalized);
    ctx.body = matchJson(match);
  });

  return router;
}
