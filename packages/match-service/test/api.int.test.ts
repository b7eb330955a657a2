import { expect } from 'chai';
import { call, rowCounts, startHarness, streamEvents, type Harness } from './harness.js';

const PROBLEM = 'application/problem+json';

describe('match-service API over HTTP', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
  });

  after(async () => {
    await h?.close();
  });

  afterEach(() => {
    expect(h.errors, 'unexpected 500s').to.deep.equal([]);
  });

  const user = async (name: string, region: string, interests: string[]) => {
    const res = await call(h, 'POST', '/users', { name, region, interests });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { id: string; name: string; region: string; interests: string[] };
  };

  it('registers users, matches two of them, and publishes com.jetbox.match.created', async () => {
    const res = await call(h, 'POST', '/users', {
      name: 'Ada',
      region: 'eu',
      interests: ['chess', 'hiking'],
    });
    expect(res.status).to.equal(201);
    expect(res.contentType).to.match(/^application\/json/);
    const ada = res.body as Record<string, unknown>;
    expect(ada).to.have.keys('id', 'name', 'region', 'interests', 'createdAt');
    expect(ada).to.include({ name: 'Ada', region: 'eu' });
    expect(ada.interests).to.deep.equal(['chess', 'hiking']);
    expect(res.headers.get('location')).to.equal(`/users/${String(ada.id)}`);
    expect((await call(h, 'GET', `/users/${String(ada.id)}`)).body).to.deep.equal(ada);

    const bob = await user('Bob', 'eu', ['hiking']);
    const cy = await user('Cy', 'us', ['hiking']);

    expect(await call(h, 'POST', `/users/${String(ada.id)}/match-requests`)).to.include({
      status: 202,
    });
    // Asking again while waiting changes nothing.
    const again = await call(h, 'POST', `/users/${String(ada.id)}/match-requests`, {});
    expect(again.status).to.equal(202);
    expect(again.body).to.deep.equal({ status: 'waiting' });
    // Same interest, other region: no match.
    expect((await call(h, 'POST', `/users/${cy.id}/match-requests`)).body).to.deep.equal({
      status: 'waiting',
    });

    const matched = await call(h, 'POST', `/users/${bob.id}/match-requests`);
    expect(matched.status).to.equal(201);
    expect(matched.body.status).to.equal('matched');
    const matchId = matched.body.matchId as string;
    expect(matched.headers.get('location')).to.equal(`/matches/${matchId}`);

    const match = await call(h, 'GET', `/matches/${matchId}`);
    expect(match.status).to.equal(200);
    expect(match.body).to.have.keys('id', 'userIds', 'status', 'createdAt');
    expect(match.body).to.include({ id: matchId, status: 'active' });
    expect(match.body.userIds).to.deep.equal([ada.id, bob.id]);

    const list = await call(h, 'GET', `/users/${bob.id}/matches`);
    expect(list.status).to.equal(200);
    expect(list.body).to.deep.equal({ items: [match.body], nextCursor: null });

    // A matched user cannot be matched again while the match is active.
    const twice = await call(h, 'POST', `/users/${String(ada.id)}/match-requests`);
    expect(twice.status).to.equal(409);
    expect(twice.contentType).to.match(/^application\/problem\+json/);

    const events = await streamEvents(h, (all) => all.some((e) => e.data.matchId === matchId));
    const created = events.filter((e) => e.data.matchId === matchId);
    expect(created).to.have.length(1);
    expect(created[0]!.type).to.equal('com.jetbox.match.created');
    expect(created[0]!.subject).to.match(
      new RegExp(`^${h.subjectPrefix}\\.match\\.created\\.[0-3]$`),
    );
    expect(created[0]!.data).to.deep.equal({
      matchId,
      userIds: [ada.id, bob.id],
      region: 'eu',
    });
  });

  it('cancels a match once: the second cancel is a 409 and only one event is published', async () => {
    const a = await user('A', 'cx', ['go']);
    const b = await user('B', 'cx', ['go']);
    await call(h, 'POST', `/users/${a.id}/match-requests`);
    const { matchId } = (await call(h, 'POST', `/users/${b.id}/match-requests`)).body as {
      matchId: string;
    };

    const first = await call(h, 'POST', `/matches/${matchId}/cancel`, {
      reason: { code: 'no_show', note: 'B never came' },
    });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body).to.include({ id: matchId, status: 'cancelled' });
    expect(first.body.reason).to.deep.equal({ code: 'no_show', note: 'B never came' });
    expect(Date.parse(first.body.cancelledAt as string)).to.be.a('number').and.not.NaN;
    expect((await call(h, 'GET', `/matches/${matchId}`)).body).to.deep.equal(first.body);

    const second = await call(h, 'POST', `/matches/${matchId}/cancel`, { reason: 'again' });
    expect(second.status).to.equal(409);
    expect(second.contentType).to.match(/^application\/problem\+json/);
    expect(second.body).to.include({ status: 409, title: 'Match already cancelled' });

    const events = await streamEvents(
      h,
      (all) => all.filter((e) => e.data.matchId === matchId).length >= 2,
    );
    const mine = events.filter((e) => e.data.matchId === matchId).map((e) => e.type);
    expect(mine).to.deep.equal(['com.jetbox.match.created', 'com.jetbox.match.cancelled']);
    const cancelled = events.find(
      (e) => e.data.matchId === matchId && e.type === 'com.jetbox.match.cancelled',
    );
    expect(cancelled!.data).to.deep.equal({
      matchId,
      userIds: [a.id, b.id],
      reason: { code: 'no_show', note: 'B never came' },
    });
  });

  it('lets exactly one of two concurrent cancels win', async () => {
    const a = await user('A2', 'cy', ['go']);
    const b = await user('B2', 'cy', ['go']);
    await call(h, 'POST', `/users/${a.id}/match-requests`);
    const { matchId } = (await call(h, 'POST', `/users/${b.id}/match-requests`)).body as {
      matchId: string;
    };
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(h, 'POST', `/matches/${matchId}/cancel`, { reason: { code: 'user_request' } }),
      ),
    );
    expect(replies.map((r) => r.status).sort()).to.deep.equal([200, 409, 409, 409, 409]);
    const [row] = await h.orm.em
      .fork()
      .getConnection()
      .execute<{ n: number }[]>(
        `select count(*)::int as n from jetbox_outbox where aggregate_id = ? and type = 'com.jetbox.match.cancelled'`,
        [matchId],
      );
    expect(row!.n).to.equal(1);
  });

  it('pages through a user’s matches, newest first', async () => {
    const p = await user('P', 'pg', ['x']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const q = await user(`Q${i}`, 'pg', ['x']);
      await call(h, 'POST', `/users/${q.id}/match-requests`);
      const res = await call(h, 'POST', `/users/${p.id}/match-requests`);
      expect(res.status).to.equal(201);
      ids.push(res.body.matchId as string);
      const cancel = await call(h, 'POST', `/matches/${ids.at(-1)}/cancel`, { reason: 'next' });
      expect(cancel.status).to.equal(200);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await call(h, 'GET', `/users/${p.id}/matches${query}`);
      expect(res.status).to.equal(200);
      const items = res.body.items ?? [];
      expect(items.length).to.be.at.most(2);
      seen.push(...items.map((m) => m.id));
      cursor = res.body.nextCursor ?? null;
      if (!cursor) break;
    }
    expect(seen).to.deep.equal([...ids].reverse());
    expect(cursor).to.equal(null);
  });

  it('reports health, readiness and metrics including the relay’s', async () => {
    expect((await call(h, 'GET', '/healthz')).status).to.equal(200);
    const ready = await call(h, 'GET', '/readyz');
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
    expect(ready.body).to.deep.equal({
      ready: true,
      checks: { postgres: 'ok', nats: 'ok', migrations: 'ok' },
    });
    const metrics = await call(h, 'GET', '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.text).to.include('jetbox_relay_published_total');
    expect(metrics.text).to.match(
      /match_service_http_requests_total\{method="POST",route="\/users",status="201"\} \d+/,
    );
  });

  it('answers unknown routes and methods with problem+json', async () => {
    const missing = await call(h, 'GET', '/nope');
    expect(missing.status).to.equal(404);
    expect(missing.contentType).to.match(new RegExp(`^${PROBLEM.replace('+', '\\+')}`));
    const method = await call(h, 'DELETE', '/users');
    expect(method.status).to.equal(405);
    expect(method.contentType).to.match(/^application\/problem\+json/);
    expect((await rowCounts(h)).users).to.be.greaterThan(0);
  });
});
