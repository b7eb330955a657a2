import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { DEFAULT_NATS_URL } from '../config.js';
import { uniqueName } from './testDatabase.js';

/** The NATS server tests use: `NATS_URL`, else the local one. */
export function testNatsUrl(): string {
  return process.env.NATS_URL ?? DEFAULT_NATS_URL;
}

/** Connects to the test NATS server (or `servers`), with the options jetbox itself uses. */
export async function connectTestNats(
  servers: string | string[] = testNatsUrl(),
): Promise<NatsConnection> {
  return connect({ servers, noAsyncTraces: true, name: `jetbox-test-${process.pid}` });
}

/** An upper-case stream name unique to this process and call. */
export function uniqueStreamName(prefix = 'JETBOX_TEST'): string {
  return uniqueName(prefix).toUpperCase();
}

/** Deletes streams by name, ignoring ones that do not exist. */
export async function deleteStreams(nc: NatsConnection, ...names: string[]): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of names) {
    await jsm.streams.delete(name).catch((err: unknown) => {
      if (!/stream not found/i.test(String(err))) throw err;
    });
  }
}
