import { fileURLToPath } from 'node:url';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  spawnService,
  waitFor,
  uniqueStreamName,
  type ServiceProcess,
  type TestDatabase,
} from '@jetbox/events/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('match-service as a process (src/main.ts)', () => {
  let db: TestDatabase;
  let nats: NatsConnection;
  let child: ServiceProcess | undefined;
  const stream = uniqueStreamName('MATCH_SVC_MAIN');
  const dlqStream = `${stream}_DLQ`;

  const serviceEnv = () => ({
    DATABASE_URL: db.url,
    PORT: '0',
    JETBOX_STREAM: stream,
    // Own subjects: must not overlap the streams of other test files.
    JETBOX_SUBJECT_PREFIX: stream.toLowerCase(),
    JETBOX_PARTITIONS: '4',
    JETBOX_DLQ_STREAM: dlqStream,
    JETBOX_DLQ_SUBJECT_PREFIX: `${stream.toLowerCase()}_dlq`,
  });

  before(async () => {
    db = await createTestDatabase('match_service_main');
    nats = await connectTestNats();
  });

  after(async () => {
    await child?.kill();
    await deleteStreams(nats, stream, dlqStream);
    await nats?.close();
    await db?.drop();
  });

  it('starts, serves, publishes, and stops cleanly on SIGTERM', async () => {
    child = await spawnService({
      name: 'match-service',
      cwd: packageDir,
      env: serviceEnv(),
    });
    const url = child.url;

    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, body: (await res.json()) as { id?: string } };
    };
    expect((await fetch(`${url}/readyz`)).status).to.equal(200);
    const a = await post('/users', { name: 'A', region: 'eu', interests: ['x'] });
    const b = await post('/users', { name: 'B', region: 'eu', interests: ['x'] });
    expect((await post(`/users/${a.body.id}/match-requests`)).status).to.equal(202);
    expect((await post(`/users/${b.body.id}/match-requests`)).status).to.equal(201);

    const jsm = await jetstreamManager(nats);
    const deadline = Date.now() + 10_000;
    let messages = 0;
    while (messages < 1 && Date.now() < deadline) {
      messages = (await jsm.streams.info(stream)).state.messages;
      if (messages < 1) await new Promise((r) => setTimeout(r, 100));
    }
    expect(messages, 'the in-process relay published the created event').to.equal(1);

    const exit = await child.stop('SIGTERM');
    expect(exit, child.output()).to.deep.equal({ code: 0, signal: null });
    expect(child.output()).to.match(/"msg":"stopped"/);
  });

  it('stops cleanly when Ctrl-C reaches it twice at once (the terminal and a watcher relaying it)', async () => {
    const relayed = await spawnService({
      name: 'match-service',
      cwd: packageDir,
      env: serviceEnv(),
    });
    child = relayed;
    expect((await fetch(`${relayed.url}/healthz`)).status).to.equal(200);
    relayed.child.kill('SIGINT');
    // Identical pending signals merge: send the relayed one once the first is being handled.
    await waitFor('stopping', () => relayed.output().includes('"msg":"stopping"'), 10_000, 5);
    relayed.child.kill('SIGINT');
    const exit = await relayed.stop('SIGINT');
    expect(exit, relayed.output()).to.deep.equal({ code: 0, signal: null });
    expect(relayed.output()).to.match(/"msg":"stopped"/);
    expect(relayed.output()).not.to.match(/second signal/);
  });
});
