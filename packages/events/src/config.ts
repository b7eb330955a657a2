/** Where jetbox finds PostgreSQL and NATS when nothing else is configured. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/jetbox';
/** @defaultValue `nats://127.0.0.1:4222` */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * `options` without the properties set to `undefined`, for spreading over defaults: an option
 * passed as `undefined` (a config read from an unset variable) then takes its default instead
 * of replacing it.
 */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
