import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listDeadLetters } from '@jetbox/events';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  type ServiceProcess,
  type TestDatabase,
} from '@jetbox/events/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { waitFor } from './harness.js';
import {
  cleanUp,
  driveServices,
  freePort,
  startMatchService as launchMatchService,
  startNotifier as launchNotifier,
} from './support/driveServices.js';

/**
 * match-service and notifier as separate processes (`src/main.ts`, as `npm run dev` runs them)
 * against the real PostgreSQL and NATS, driven over HTTP only.
 */
describe('end to end: match-service → relay → JetStream → notifier, as processes', function () {
  this.timeout(120_000);
  let matchDb: TestDatabase;
  let notifierDb: TestDatabase;
  let nats: NatsConnection;
  let matchService: ServiceProcess | undefined;
  let notifier: ServiceProcess | undefined;
  let matchPort: number;
  let notifierPort: number;
  const stream = uniqueStreamName('E2E');
  const dlqStream = `${stream}_DLQ`;
  const prefix = stream.toLowerCase();

  const common = () => ({
    JETBOX_STREAM: stream,
    JETBOX_SUBJECT_PREFIX: prefix,
    JETBOX_DLQ_STREAM: dlqStream,
    JETBOX_DLQ_SUBJECT_PREFIX: `${prefix}_dlq`,
    // Their `listening` line, which carries the URL, is logged at info.
    JETBOX_LOG_LEVEL: 'info',
    NODE_ENV: 'production',
  });
  const places = () => ({
    matchDb: matchDb.url,
    notifierDb: notifierDb.url,
    matchPort,
    notifierPort,
  });
  const startMatchService = async () => {
    matchService = await launchMatchService(places(), common());
  };
  const startNotifier = async (env: Record<string, string> = {}) => {
    notifier = await launchNotifier(places(), {
      ...common(),
      NOTIFIER_HTTP_BACKOFF_MS: '50',
      NOTIFIER_HTTP_MAX_BACKOFF_MS: '200',
      NOTIFIER_BREAKER_HALF_OPEN_MS: '1000',
      // What a killed instance held comes back sooner than the 30 s default.
      NOTIFIER_ACK_WAIT_MS: '3000',
      ...env,
    });
  };

  before(async () => {
    // One after the other: a failure half-way leaves assigned what after() must remove.
    matchDb = await createTestDatabase('e2e_match');
    notifierDb = await createTestDatabase('e2e_notifier');
    nats = await connectTestNats();
    [matchPort, notifierPort] = await Promise.all([freePort(), freePort()]);
    drive = driveServices({
      matchService: `http://127.0.0.1:${matchPort}`,
      notifier: `http://127.0.0.1:${notifierPort}`,
      notifierDb: notifierDb.url,
    });
    await startMatchService();
    await startNotifier();
  });

  after(() =>
    cleanUp(
      () => notifier?.stop(),
      () => matchService?.stop(),
      () => (nats ? deleteStreams(nats, stream, dlqStream) : undefined),
      () => nats?.close(),
      () => matchDb?.drop(),
      () => notifierDb?.drop(),
    ),
  );

  let drive: ReturnType<typeof driveServices>;
  const call = <T>(method: string, url: string, body?: unknown) => drive.call<T>(method, url, body);
  const ms = (path: string) => drive.ms(path);
  const notificationsOf = (userId: string) => drive.notificationsOf(userId);
  const matchPair = () => drive.matchPair();
  const notificationRows = () => drive.notificationRows();
  const streamMessages = async () =>
    (await (await jetstreamManager(nats)).streams.info(stream)).state.messages;
  const deadLetters = () =>
    listDeadLetters(nats, {
      stream: dlqStream,
      subjectPrefix: `${prefix}_dlq`,
      consumer: 'notifier',
    });

  it('users → match → cancel: each user is notified once per event, created before cancelled', async () => {
    const cancelled = await matchPair();
    const kept = await matchPair();
    const c = await call<{ status: string }>('POST', ms(`/matches/${cancelled.matchId}/cancel`), {
      reason: { code: 'user_request', note: 'moved away' },
    });
    expect(c.body.status).to.equal('cancelled');

    for (const user of cancelled.users) {
      await waitFor(
        `2 notifications of ${user}`,
        async () => (await notificationsOf(user)).length === 2,
      );
      const list = await notificationsOf(user);
      expect(list.map((n) => [n.type, n.matchId])).to.deep.equal([
        ['com.jetbox.match.created', cancelled.matchId],
        ['com.jetbox.match.cancelled', cancelled.matchId],
      ]);
    }
    for (const user of kept.users) {
      await waitFor(
        `the notification of ${user}`,
        async () => (await notificationsOf(user)).length === 1,
      );
      expect((await notificationsOf(user))[0]).to.include({
        type: 'com.jetbox.match.created',
        matchId: kept.matchId,
      });
    }
    expect((await notificationRows()).every((r) => r.n === 1)).to.equal(true);
  });

  it('serves the metrics docs/observability.md documents, named by one scheme', async () => {
    const doc = readFileSync(
      fileURLToPath(new URL('../../../docs/observability.md', import.meta.url)),
      'utf8',
    );
    // `| \`name{labels}\` | type | meaning |` rows of the metric tables.
    const documented = new Map(
      [...doc.matchAll(/^\| `([a-z_]+)(?:\{[^`]*\})?` \| (counter|gauge|histogram) \|/gm)].map(
        (m) => [m[1]!, m[2]!],
      ),
    );
    const served = new Map<string, string>();
    for (const port of [matchPort, notifierPort]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        if (!/^(process_|nodejs_)/.test(m[1]!)) served.set(m[1]!, m[2]!);
      }
    }
    expect(
      [...served].filter(([name, type]) => documented.get(name) !== type),
      'served but not documented as such',
    ).to.deep.equal([]);
    expect(
      [...documented.keys()].filter((name) => !served.has(name)),
      'documented but not served',
    ).to.deep.equal([]);
    for (const [name, type] of served) {
      expect(name).to.match(/^(jetbox_(relay|consumer)|match_service|notifier)_[a-z0-9_]+$/);
      if (type === 'counter') expect(name).to.match(/_total$/);
      if (name.includes('duration')) expect(name).to.match(/_seconds$/);
    }
  });

  it('notifier SIGKILLed mid-stream and restarted: no notification lost or doubled', async () => {
    const before = (await notificationRows()).length;
    await notifier!.stop();
    const pairs = [];
    for (let i = 0; i < 30; i++) pairs.push(await matchPair());
    const expected = before + 60;
    // A slow notifier (one match at a time), so the kill lands while it works through the backlog.
    await startNotifier({ NOTIFIER_CONCURRENCY: '1' });
    await waitFor(
      'the first new notifications',
      async () => (await notificationRows()).length > before,
      30_000,
    );
    await notifier!.kill();
    const atKill = (await notificationRows()).length;
    expect(atKill, 'killed mid-stream').to.be.below(expected);

    await startNotifier();
    await waitFor(
      'every notification',
      async () => (await notificationRows()).length === expected,
      60_000,
    );
    const rows = await notificationRows();
    expect(rows.filter((r) => r.n !== 1)).to.deep.equal([]);
    for (const p of pairs.slice(0, 3)) {
      for (const user of p.users) expect(await notificationsOf(user)).to.have.length(1);
    }
    expect(await deadLetters()).to.deep.equal([]);
  });

  it('match-service down while events flow: notifier retries, the circuit opens, then every notification arrives once', async () => {
    const before = (await notificationRows()).length;
    await notifier!.stop();
    const pairs = [];
    for (let i = 0; i < 5; i++) pairs.push(await matchPair());
    const published = await streamMessages();
    // Everything match-service recorded is in the stream before it goes away.
    await waitFor('the relay caught up', async () => (await streamMessages()) >= published);
    const { code } = await matchService!.stop();
    expect(code).to.equal(0);

    await startNotifier();
    const metrics = async () => (await fetch(`http://127.0.0.1:${notifierPort}/metrics`)).text();
    await waitFor('the circuit open in /metrics', async () =>
      (await metrics()).includes('notifier_circuit_state{target="match-service"} 1'),
    );
    expect(await metrics()).to.match(
      /notifier_http_client_attempts_total\{target="match-service",outcome="network"\} [1-9]/,
    );
    // Far longer than maxDeliver attempts with backoff would take: nothing lost to dead letters.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await notificationRows()).length).to.equal(before);
    expect(await deadLetters()).to.deep.equal([]);

    await startMatchService();
    await waitFor(
      'every notification',
      async () => (await notificationRows()).length === before + 10,
      60_000,
    );
    await waitFor('the circuit closed', async () =>
      (await metrics()).includes('notifier_circuit_state{target="match-service"} 0'),
    );
    expect((await notificationRows()).filter((r) => r.n !== 1)).to.deep.equal([]);
    for (const p of pairs)
      for (const user of p.users) expect(await notificationsOf(user)).to.have.length(1);
    expect(await deadLetters()).to.deep.equal([]);
  });
});
