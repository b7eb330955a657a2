import { listDeadLetters } from '@jetbox/events';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  startNotifierHarness,
  startStub,
  waitFor,
  type NotifierHarness,
  type StubServer,
} from './harness.js';

interface NotificationJson {
  id: string;
  eventId: string;
  type: string;
  matchId: string;
  createdAt: string;
}

describe('notifier: match events become notifications, once, through a resilient client', function () {
  this.timeout(60_000);
  let h: NotifierHarness | undefined;
  let webhook: StubServer | undefined;

  afterEach(async () => {
    await h?.close();
    await webhook?.close();
    h = undefined;
    webhook = undefined;
  });

  const notificationsOf = async (userId: string, query = '') => {
    const res = await fetch(`${h!.server.url}/users/${userId}/notifications${query}`);
    expect(res.status).to.equal(200);
    return (await res.json()) as NotificationJson[];
  };
  const count = async () =>
    Number(
      (
        await h!.orm.em
          .fork()
          .getConnection()
          .execute<{ n: string }[]>('select count(*)::text as n from notifications')
      )[0]!.n,
    );
  const deadLetters = () =>
    listDeadLetters(h!.nats, {
      stream: h!.dlqStream,
      subjectPrefix: h!.dlqPrefix,
      consumer: 'notifier',
    });

  it('notifies both users of each event, created before cancelled, and skips a redelivered event', async () => {
    h = await startNotifierHarness();
    const match = h.newMatch();
    const [a, b] = match.userIds;
    const created = await h.publish('com.jetbox.match.created', {
      matchId: match.id,
      userIds: [a, b],
      region: 'eu',
    });
    const cancelled = await h.publish('com.jetbox.match.cancelled', {
      matchId: match.id,
      userIds: [a, b],
      reason: { code: 'user_request' },
    });
    // The same CloudEvent again (a relay re-publish after the duplicate window, say).
    await h.publish(
      'com.jetbox.match.created',
      { matchId: match.id, userIds: [a, b], region: 'eu' },
      created,
    );
    await waitFor('4 notifications', async () => (await count()) === 4);
    await waitFor(
      'the duplicate skipped',
      async () =>
        (await h!.metric('jetbox_consumer_duplicates_total', 'consumer="notifier"')) === 1,
    );

    for (const user of [a, b]) {
      const list = await notificationsOf(user);
      expect(list.map((n) => [n.eventId, n.type, n.matchId])).to.deep.equal([
        [created, 'com.jetbox.match.created', match.id],
        [cancelled, 'com.jetbox.match.cancelled', match.id],
      ]);
      expect(new Date(list[0]!.createdAt).getTime()).to.be.at.most(
        new Date(list[1]!.createdAt).getTime(),
      );
    }
    expect(await count()).to.equal(4);
    expect(
      await h.metric('notifier_notifications_created_total', 'type="com.jetbox.match.created"'),
    ).to.equal(2);
  });

  it('holds "cancelled" back until "created" is notified when another worker could take it first', async () => {
    h = await startNotifierHarness();
    const match = h.newMatch();
    const data = { matchId: match.id, userIds: match.userIds };
    const deferred: string[] = [];
    h.notifier.consumer.events.on('consumer:deferred', (e) => deferred.push(e.error.message));
    // Another key, so this worker does not order them: as if two workers shared the consumer.
    await h.publish(
      'com.jetbox.match.cancelled',
      { ...data, reason: { code: 'other' } },
      undefined,
      'elsewhere',
    );
    await waitFor('the cancelled event held back', () => deferred.length > 0);
    expect(deferred[0]).to.contain('"created" is not notified yet');
    // Longer than the harness's 3 attempts with backoff would take: still waiting, not dead.
    await new Promise((r) => setTimeout(r, 600));
    expect(await deadLetters()).to.deep.equal([]);
    await h.publish('com.jetbox.match.created', { ...data, region: 'eu' });
    await waitFor('4 notifications', async () => (await count()) === 4);
    for (const user of match.userIds) {
      expect((await notificationsOf(user)).map((n) => n.type)).to.deep.equal([
        'com.jetbox.match.created',
        'com.jetbox.match.cancelled',
      ]);
    }
    expect(await deadLetters()).to.deep.equal([]);
  });

  it('dead-letters the event of a match match-service does not know, and goes on', async () => {
    h = await startNotifierHarness();
    const unknown = uuidv7();
    await h.publish('com.jetbox.match.created', {
      matchId: unknown,
      userIds: [uuidv7(), uuidv7()],
      region: 'eu',
    });
    const known = h.newMatch();
    await h.publish('com.jetbox.match.created', {
      matchId: known.id,
      userIds: known.userIds,
      region: 'eu',
    });
    await waitFor('the known match notified', async () => (await count()) === 2);
    await waitFor('a dead letter', async () => (await deadLetters()).length === 1);
    const [letter] = await deadLetters();
    expect(letter!.reason).to.equal('non-retryable');
    expect(letter!.error).to.contain(`match ${unknown} does not exist at match-service`);
  });

  it('opens the circuit while match-service fails, defers instead of dead-lettering, and catches up once', async () => {
    h = await startNotifierHarness({ http: { breakerFailures: 3, breakerHalfOpenMs: 300 } });
    h.matchService.mode = 'fail';
    const matches = Array.from({ length: 6 }, () => h!.newMatch());
    for (const m of matches) {
      await h.publish('com.jetbox.match.created', {
        matchId: m.id,
        userIds: m.userIds,
        region: 'eu',
      });
    }
    await waitFor(
      'the circuit open',
      async () => (await h!.metric('notifier_circuit_state', 'target="match-service"')) === 1,
    );
    await waitFor(
      'calls refused by the open circuit',
      async () =>
        ((await h!.metric(
          'notifier_http_client_rejected_total',
          'target="match-service",reason="circuit_open"',
        )) ?? 0) > 0,
    );
    // Well past maxDeliver (3) attempts' worth of time: still nothing dead-lettered.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deadLetters()).to.deep.equal([]);
    expect(await count()).to.equal(0);

    h.matchService.mode = 'ok';
    await waitFor('every notification', async () => (await count()) === 12);
    await waitFor(
      'the circuit closed',
      async () => (await h!.metric('notifier_circuit_state', 'target="match-service"')) === 0,
    );
    expect(
      await h.metric('notifier_circuit_opened_total', 'target="match-service"'),
    ).to.be.at.least(1);
    expect(
      await h.metric(
        'notifier_http_client_attempts_total',
        'target="match-service",outcome="http_5xx"',
      ),
    ).to.be.at.least(3);
    expect(await deadLetters()).to.deep.equal([]);
  });

  it('gives up on a slow answer after the timeout and retries', async () => {
    h = await startNotifierHarness({ http: { timeoutMs: 200 } });
    h.matchService.mode = 'slow';
    h.matchService.slowMs = 1000;
    const m = h.newMatch();
    await h.publish('com.jetbox.match.created', {
      matchId: m.id,
      userIds: m.userIds,
      region: 'eu',
    });
    await waitFor(
      'a timed-out attempt',
      async () =>
        ((await h!.metric(
          'notifier_http_client_attempts_total',
          'target="match-service",outcome="timeout"',
        )) ?? 0) > 0,
    );
    h.matchService.mode = 'ok';
    await waitFor('the notifications', async () => (await count()) === 2);
  });

  it('bounds calls in progress with the bulkhead', async () => {
    h = await startNotifierHarness({
      concurrency: 8,
      http: { maxConcurrent: 2, maxQueued: 1, timeoutMs: 2000 },
    });
    h.matchService.mode = 'slow';
    h.matchService.slowMs = 300;
    for (let i = 0; i < 8; i++) {
      const m = h.newMatch();
      await h.publish('com.jetbox.match.created', {
        matchId: m.id,
        userIds: m.userIds,
        region: 'eu',
      });
    }
    await waitFor('every notification', async () => (await count()) === 16, 30_000);
    expect(h.matchService.maxInFlight).to.equal(2);
    expect(
      await h.metric(
        'notifier_http_client_rejected_total',
        'target="match-service",reason="bulkhead_full"',
      ),
    ).to.be.greaterThan(0);
    expect(await deadLetters()).to.deep.equal([]);
  });

  it('delivers each notification to the webhook with an idempotency key, retrying its failures', async () => {
    webhook = await startStub();
    webhook.mode = 'fail';
    h = await startNotifierHarness({ webhookUrl: `${webhook.url}/hooks/notify` });
    const m = h.newMatch();
    const eventId = await h.publish('com.jetbox.match.created', {
      matchId: m.id,
      userIds: m.userIds,
      region: 'eu',
    });
    await waitFor('a failed delivery', () => webhook!.received.length > 0);
    expect(await count()).to.equal(0); // rolled back with the failed delivery
    webhook.mode = 'ok';
    await waitFor('the notifications', async () => (await count()) === 2);
    const keys = webhook.received.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys)).to.deep.equal(new Set(m.userIds.map((u) => `${eventId}:${u}`)));
    const delivered = webhook.received.filter((r) => r.path === '/hooks/notify').at(-1)!;
    expect(delivered.method).to.equal('POST');
    expect(JSON.parse(delivered.body)).to.include({
      eventId,
      matchId: m.id,
      type: 'com.jetbox.match.created',
    });
  });

  describe('GET /users/:id/notifications', () => {
    it('pages oldest first with limit and after, and a Link to the next page', async () => {
      h = await startNotifierHarness();
      const user = uuidv7();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = h.newMatch();
        m.userIds = [user, uuidv7()];
        ids.push(
          await h.publish('com.jetbox.match.created', {
            matchId: m.id,
            userIds: m.userIds,
            region: 'eu',
          }),
        );
      }
      await waitFor('6 notifications', async () => (await count()) === 6);
      // Different matches are handled concurrently: their order is the order they committed.
      const all = await notificationsOf(user);
      expect(all.map((n) => n.eventId).sort()).to.deep.equal([...ids].sort());
      const times = all.map((n) => `${n.createdAt} ${n.id}`);
      expect(times).to.deep.equal([...times].sort());
      const res = await fetch(`${h.server.url}/users/${user}/notifications?limit=2`);
      const first = (await res.json()) as NotificationJson[];
      expect(first).to.deep.equal(all.slice(0, 2));
      expect(res.headers.get('link')).to.equal(
        `</users/${user}/notifications?limit=2&after=${first[1]!.id}>; rel="next"`,
      );
      const rest = await notificationsOf(user, `?limit=2&after=${first[1]!.id}`);
      expect(rest).to.deep.equal(all.slice(2));
      expect(await notificationsOf(uuidv7())).to.deep.equal([]);
    });

    it('answers bad input with problem+json naming the parameter', async () => {
      h = await startNotifierHarness();
      const base = h.server.url;
      const user = uuidv7();
      const cases: [string, number, string | undefined][] = [
        [`/users/not-a-uuid/notifications`, 404, undefined],
        [`/users/${user}/notifications?limit=0`, 400, 'limit'],
        [`/users/${user}/notifications?limit=abc`, 400, 'limit'],
        [`/users/${user}/notifications?limit=1&limit=2`, 400, 'limit'],
        [`/users/${user}/notifications?after=x`, 400, 'after'],
        [`/users/${user}/notifications?after=${uuidv7()}`, 400, 'after'],
        [`/nope`, 404, undefined],
      ];
      for (const [path, status, field] of cases) {
        const res = await fetch(base + path);
        expect(res.status, path).to.equal(status);
        expect(res.headers.get('content-type'), path).to.match(/^application\/problem\+json/);
        const body = (await res.json()) as { errors?: { field: string }[] };
        if (field)
          expect(
            body.errors?.map((e) => e.field),
            path,
          ).to.include(field);
      }
      const post = await fetch(`${base}/users/${user}/notifications`, { method: 'POST' });
      expect(post.status).to.equal(405);
    });
  });
});
