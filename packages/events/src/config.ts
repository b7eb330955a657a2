/** Where jetbox finds PostgreSQL and NATS when nothing else is configured. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/jetbox';
/** @defaultValue `nats://127.0.0.1:4222` */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
