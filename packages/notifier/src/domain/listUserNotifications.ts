import type { EntityManager } from '@mikro-orm/postgresql';
import { NotifierError, NotifierErrorCode } from '../errors.js';
import { Notification } from './Notification.js';

/** @defaultValue 100 */
export const DEFAULT_NOTIFICATIONS_LIMIT = 100;
export const MAX_NOTIFICATIONS_LIMIT = 1000;

/**
 * A user's notifications, oldest first; `after` (a notification id of this user) continues
 * after that one. Order is by creation time, not commit time: a notification committed late
 * can appear before a cursor already handed out, so followers re-read from a slightly older one.
 */
export async function listUserNotifications(
  em: EntityManager,
  userId: string,
  page: { limit: number; after?: string | undefined },
): Promise<Notification[]> {
  let cursor: Notification | null = null;
  if (page.after !== undefined) {
    cursor = await em.findOne(Notification, { id: page.after, userId });
    if (!cursor) {
      throw new NotifierError(
        NotifierErrorCode.InvalidQuery,
        `after: no notification ${page.after} of user ${userId}`,
        [{ field: 'after', message: "must be the id of one of this user's notifications" }],
      );
    }
  }
  return em.find(
    Notification,
    {
      userId,
      ...(cursor
        ? {
            $or: [
              { createdAt: { $gt: cursor.createdAt } },
              { createdAt: cursor.createdAt, id: { $gt: cursor.id } },
            ],
          }
        : {}),
    },
    { orderBy: { createdAt: 'asc', id: 'asc' }, limit: page.limit },
  );
}
