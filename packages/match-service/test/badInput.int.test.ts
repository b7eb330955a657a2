import { expect } from 'chai';
import {
  call,
  rowCounts,
  startHarness,
  type Harness,
  type Reply,
  type RowCounts,
} from './harness.js';

const UNKNOWN = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

function expectProblem(res: Reply, status: number, fields: string[] = []): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.contentType).to.match(/^application\/problem\+json/);
  expect(res.body).to.include({ status });
  expect(res.body).to.have.property('type').that.is.a('string');
  expect(res.body).to.have.property('title').that.is.a('string');
  expect(res.body).to.have.property('detail').that.is.a('string');
  const got = ((res.body.errors ?? []) as { field: string }[]).map((e) => e.field);
  for (const f of fields) expect(got, `offending fields of ${res.body.detail}`).to.include(f);
}

describe('match-service: bad input gets a 4xx problem and writes nothing', () => {
  let h: Harness;
  let userId: string;
  let matchId: string;
  let baseline: RowCounts;
  const huge = JSON.stringify({ name: 'x'.repeat(200 * 1024), region: 'eu', interests: ['a'] });

  before(async () => {
    // No relay: this file checks rows, not the stream.
    h = await startHarness({ relay: false });
    const a = await call(h, 'POST', '/users', { name: 'A', region: 'eu', interests: ['a'] });
    const b = await call(h, 'POST', '/users', { name: 'B', region: 'eu', interests: ['a'] });
    userId = a.body.id as string;
    await call(h, 'POST', `/users/${userId}/match-requests`);
    matchId = (await call(h, 'POST', `/users/${b.body.id}/match-requests`)).body.matchId as string;
    expect(matchId).to.be.a('string');
    baseline = await rowCounts(h);
  });

  afterEach(async () => {
    expect(await rowCounts(h)).to.deep.equal(baseline);
    expect(h.errors, 'unexpected 500s').to.deep.equal([]);
  });

  after(async () => {
    await h?.close();
  });

  describe('POST /users', () => {
    it('missing fields', async () => {
      expectProblem(await call(h, 'POST', '/users', {}), 400, ['name', 'region', 'interests']);
    });
    it('wrong types', async () => {
      expectProblem(
        await call(h, 'POST', '/users', { name: 5, region: ['eu'], interests: 'chess' }),
        400,
        ['name', 'region', 'interests'],
      );
      expectProblem(
        await call(h, 'POST', '/users', { name: 'A', region: 'eu', interests: ['ok', 7] }),
        400,
        ['interests.1'],
      );
    });
    it('empty values and unknown fields', async () => {
      expectProblem(
        await call(h, 'POST', '/users', { name: '', region: 'eu', interests: [], admin: true }),
        400,
        ['name', 'interests', 'admin'],
      );
    });
    it('a body that is not an object, or none at all', async () => {
      expectProblem(await call(h, 'POST', '/users', [1, 2]), 400);
      expectProblem(await call(h, 'POST', '/users', 'null'), 400);
      expectProblem(await call(h, 'POST', '/users'), 400, ['(body)']);
    });
    it('malformed JSON', async () => {
      const res = await call(h, 'POST', '/users', '{"name": "A",');
      expectProblem(res, 400);
      expect(res.body.title).to.equal('Malformed JSON');
    });
    it('a huge body', async () => {
      expectProblem(await call(h, 'POST', '/users', huge), 413);
    });
    it('a huge body sent in chunks, without a content-length', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          // 1 MiB at most: enough to cross the limit, bounded if the server kept reading.
          if (sent++ < 64) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${h.server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).to.equal(413);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      await res.text();
    });
    it('a body that is not JSON', async () => {
      expectProblem(
        await call(h, 'POST', '/users', 'name=A', { 'content-type': 'text/plain' }),
        415,
        ['content-type'],
      );
    });
  });

  describe('GET /users/:id', () => {
    it('unknown and impossible ids', async () => {
      expectProblem(await call(h, 'GET', `/users/${UNKNOWN}`), 404);
      expectProblem(await call(h, 'GET', '/users/not-a-uuid'), 404);
    });
  });

  describe('POST /users/:id/match-requests', () => {
    it('unknown user', async () => {
      expectProblem(await call(h, 'POST', `/users/${UNKNOWN}/match-requests`), 404);
      expectProblem(await call(h, 'POST', '/users/42/match-requests'), 404);
    });
    it('unexpected fields, malformed JSON, huge body', async () => {
      expectProblem(await call(h, 'POST', `/users/${userId}/match-requests`, { x: 1 }), 400, ['x']);
      expectProblem(await call(h, 'POST', `/users/${userId}/match-requests`, '{'), 400);
      expectProblem(await call(h, 'POST', `/users/${userId}/match-requests`, huge), 413);
    });
  });

  describe('GET /users/:id/matches', () => {
    it('unknown user', async () => {
      expectProblem(await call(h, 'GET', `/users/${UNKNOWN}/matches`), 404);
    });
    it('bad limit and cursor', async () => {
      expectProblem(await call(h, 'GET', `/users/${userId}/matches?limit=0`), 400, ['limit']);
      expectProblem(await call(h, 'GET', `/users/${userId}/matches?limit=abc`), 400, ['limit']);
      expectProblem(await call(h, 'GET', `/users/${userId}/matches?limit=1&limit=2`), 400, [
        'limit',
      ]);
      expectProblem(await call(h, 'GET', `/users/${userId}/matches?cursor=garbage`), 400, [
        'cursor',
      ]);
    });
  });

  describe('GET /matches/:id', () => {
    it('unknown and impossible ids', async () => {
      expectProblem(await call(h, 'GET', `/matches/${UNKNOWN}`), 404);
      expectProblem(await call(h, 'GET', '/matches/%00'), 404);
    });
  });

  describe('POST /matches/:id/cancel', () => {
    it('unknown match', async () => {
      expectProblem(
        await call(h, 'POST', `/matches/${UNKNOWN}/cancel`, { reason: { code: 'other' } }),
        404,
      );
    });
    it('missing or wrong reason leaves the match active', async () => {
      const path = `/matches/${matchId}/cancel`;
      expectProblem(await call(h, 'POST', path, {}), 400, ['reason']);
      expectProblem(await call(h, 'POST', path), 400, ['(body)']);
      expectProblem(await call(h, 'POST', path, { reason: 5 }), 400, ['reason']);
      expectProblem(await call(h, 'POST', path, { reason: '' }), 400, ['reason']);
      expectProblem(await call(h, 'POST', path, { reason: { code: 'bored' } }), 400, [
        'reason.code',
      ]);
      expectProblem(await call(h, 'POST', path, { reason: { note: 'x' } }), 400, ['reason.code']);
      expectProblem(await call(h, 'POST', path, { reason: { code: 'other', note: null } }), 400, [
        'reason.note',
      ]);
      expectProblem(
        await call(h, 'POST', path, { reason: { code: 'other', note: 'n'.repeat(501) } }),
        400,
        ['reason.note'],
      );
      expectProblem(await call(h, 'POST', path, '{"reason":'), 400);
      expectProblem(await call(h, 'POST', path, huge), 413);
      expect((await call(h, 'GET', `/matches/${matchId}`)).body.status).to.equal('active');
    });
  });
});
