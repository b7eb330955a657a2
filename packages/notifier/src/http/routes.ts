import type { FieldError, ServiceState } from '@jetbox/service-kit';
import { Router } from '@koa/router';
import {
  DEFAULT_NOTIFICATIONS_LIMIT,
  MAX_NOTIFICATIONS_LIMIT,
  listUserNotifications,
} from '../domain/listUserNotifications.js';
import { NotifierError, NotifierErrorCode } from '../errors.js';

/** What each request carries: its own EntityManager, forked by the app's middleware. */
export type RequestState = ServiceState;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `GET /users/:id/notifications?limit=&after=`: the user's notifications, oldest first. */
export function apiRouter(): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/users/:id/notifications', async (ctx) => {
    const id = ctx.params.id ?? '';
    // An id that cannot exist is as unknown as one that does not.
    if (!UUID.test(id))
      throw new NotifierError(NotifierErrorCode.NotFound, `user ${id} does not exist`);
    const errors: FieldError[] = [];
    const one = (name: string): string | undefined => {
      const v = ctx.query[name];
      if (Array.isArray(v)) errors.push({ field: name, message: 'must be given once' });
      return typeof v === 'string' ? v : undefined;
    };
    const rawLimit = one('limit');
    const after = one('after');
    const limit = rawLimit === undefined ? DEFAULT_NOTIFICATIONS_LIMIT : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_NOTIFICATIONS_LIMIT) {
      errors.push({
        field: 'limit',
        message: `must be an integer from 1 to ${MAX_NOTIFICATIONS_LIMIT}`,
      });
    }
    if (after !== undefined && !UUID.test(after)) {
      errors.push({ field: 'after', message: 'must be a notification id (UUID)' });
    }
    if (errors.length > 0) {
      throw new NotifierError(
        NotifierErrorCode.InvalidQuery,
        errors.map((e) => `${e.field} ${e.message}`).join('; '),
        errors,
      );
    }
    const userId = id.toLowerCase();
    const items = await listUserNotifications(ctx.state.em, userId, {
      limit,
      after: after?.toLowerCase(),
    });
    const last = items.at(-1);
    if (items.length === limit && last) {
      ctx.set(
        'Link',
        `</users/${userId}/notifications?limit=${limit}&after=${last.id}>; rel="next"`,
      );
    }
    ctx.body = items.map((n) => n.toJSON());
  });
  return router;
}
