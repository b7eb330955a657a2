import { request } from 'node:http';
import { expect } from 'chai';
import { waitFor } from '../src/testing/index.js';
import {
  CONSOLE_CONSUMER,
  HANDLER_ERROR,
  createConsoleFixture,
  type ConsoleFixture,
} from './support/consoleFixture.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  parameter?: string;
}

describe('console JSON API', function () {
  this.timeout(60_000);
  let f: ConsoleFixture;
  let url: string;
  let readOnlyUrl: string;

  const call = async (
    path: string,
    init: { method?: string; token?: string; base?: string } = {},
  ) => {
    const res = await fetch(new URL(path, init.base ?? url), {
      method: init.method ?? 'GET',
      headers: init.token === undefined ? {} : { Authorization: `Bearer ${init.token}` },
    });
    const body: unknown = await res.json();
    return { res, body };
  };
  const problem = async (
    path: string,
    status: number,
    init: { method?: string; token?: string; base?: string } = {},
  ) => {
    const { res, body } = await call(path, init);
    expect(res.status, JSON.stringify(body)).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    return { res, problem: body as Problem };
  };
  const seqs = async (query = '') =>
    ((await call(`/api/dlq${query}`)).body as { letters: { seq: number }[] }).letters.map(
      (l) => l.seq,
    );

  before(async () => {
    f = await createConsoleFixture();
    url = (await f.startConsole({ token: f.token })).url;
    readOnlyUrl = (await f.startConsole()).url;
  });
  after(async () => f?.close());

  it('reports the outbox backlog, by type, with sampled history', async () => {
    await f.insertPending(2);
    await waitFor('a sample with the backlog', async () => {
      const o = (await call('/api/outbox')).body as { history: { pending: number }[] };
      return o.history.some((s) => s.pending === 2);
    });
    const { body } = await call('/api/outbox');
    expect(body).to.deep.include({ pending: 2, failed: 0 });
    expect((body as { byType: unknown[] }).byType).to.deep.equal([
      { type: 'com.jetbox.match.created', status: 'pending', n: 2 },
    ]);
  });

  it('lists consumers with lag and redelivery counts', async () => {
    const { res, body } = await call('/api/consumers');
    expect(res.status).to.equal(200);
    const row = (body as { name: string }[]).find((c) => c.name === CONSOLE_CONSUMER);
    expect(row).to.include.keys('filter', 'pending', 'ackPending', 'redelivered', 'waiting');
  });

  it('lists dead letters with filters and shows one with headers, body and error', async () => {
    const { seq, eventId, matchId } = await f.deadLetter();
    expect(await seqs()).to.include(seq);
    expect(await seqs(`?consumer=${CONSOLE_CONSUMER}&reason=non-retryable`)).to.include(seq);
    expect(await seqs('?type=com.jetbox.match.created')).to.include(seq);
    expect(await seqs('?reason=max-deliveries')).to.deep.equal([]);
    expect(await seqs('?consumer=someone_else')).to.deep.equal([]);
    const limited = (await call('/api/dlq?limit=1')).body as { truncated: boolean };
    expect(limited.truncated).to.equal((await seqs()).length > 1);

    const { body } = await call(`/api/dlq/${seq}`);
    const detail = body as { error: string; body: string; headers: Record<string, string> };
    expect(detail.error).to.equal(`NonRetryableError: ${HANDLER_ERROR}`);
    expect(JSON.parse(detail.body)).to.include({ matchId });
    expect(detail.headers['ce-id']).to.equal(eventId);
    expect(detail.headers['Jetbox-Dlq-Reason']).to.equal('non-retryable');
  });

  it('answers bad input with a 4xx problem naming the parameter', async () => {
    for (const [path, parameter] of [
      ['/api/dlq?limit=0', 'limit'],
      ['/api/dlq?limit=abc', 'limit'],
      ['/api/dlq?limit=1001', 'limit'],
      ['/api/dlq?limit=1&limit=2', 'limit'],
      ['/api/dlq?consumer=a.*', 'consumer'],
      ['/api/dlq?consumer=%3E', 'consumer'],
      ['/api/dlq?reason=Not%20A%20Reason', 'reason'],
      ['/api/dlq?type=has%20space', 'type'],
      ['/api/dlq/abc', 'seq'],
      ['/api/dlq/0', 'seq'],
      ['/api/dlq/-1', 'seq'],
      ['/api/dlq/99999999999999999999', 'seq'],
    ] as const) {
      const { problem: p } = await problem(path, 400);
      expect(p.parameter, path).to.equal(parameter);
      expect(p.detail, path).to.match(new RegExp(`^${parameter} `));
      expect(p.type).to.equal('urn:jetbox:problem:invalid-parameter');
    }
    const purge = await problem('/api/dlq/purge', 400, { method: 'POST', token: f.token });
    expect(purge.problem.parameter).to.equal('confirm');
    const narrowed = await problem(
      '/api/dlq/purge?type=com.jetbox.match.created&confirm=yes',
      400,
      {
        method: 'POST',
        token: f.token,
      },
    );
    expect(narrowed.problem.parameter).to.equal('type');
    expect((await problem('/api/dlq/123456789', 404)).problem.detail).to.match(
      /no dead letter 123456789/,
    );
    await problem('/api/nothing-here', 404);
    await problem('/api/dlq/1/redrive', 405);
  });

  it('refuses a request for another host name (DNS rebinding)', async () => {
    const get = (host: string) =>
      new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = request(new URL('/api/meta', url), { headers: { Host: host } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    const port = new URL(url).port;
    const rebound = await get(`attacker.example:${port}`);
    expect(rebound.status).to.equal(421);
    expect(rebound.type).to.match(/^application\/problem\+json/);
    expect(rebound.body).to.contain('attacker.example');
    expect((await get(`localhost:${port}`)).status).to.equal(200);
  });

  it('refuses admin actions without the right token, and on a read-only console', async () => {
    const { seq } = await f.deadLetter();
    const missing = await problem(`/api/dlq/${seq}/redrive`, 401, { method: 'POST' });
    expect(missing.res.headers.get('www-authenticate')).to.match(/^Bearer /);
    expect(missing.problem.detail).to.match(/Authorization: Bearer/);
    const wrong = await problem(`/api/dlq/${seq}/redrive`, 401, {
      method: 'POST',
      token: `${f.token}x`,
    });
    expect(wrong.problem.detail).to.match(/not the console token/);
    const readOnly = await problem(`/api/dlq/${seq}/redrive`, 403, {
      method: 'POST',
      token: f.token,
      base: readOnlyUrl,
    });
    expect(readOnly.problem.type).to.equal('urn:jetbox:problem:read-only');
    expect(
      ((await call('/api/meta', { base: readOnlyUrl })).body as { readOnly: boolean }).readOnly,
    ).to.be.true;
    for (const path of [
      '/api/dlq/redrive',
      '/api/dlq/purge?confirm=yes',
      '/api/outbox/retry-failed',
    ])
      await problem(path, 401, { method: 'POST' });
    expect(await seqs()).to.include(seq);
  });

  it('redrives one dead letter to the fixed handler', async () => {
    const { seq, eventId } = await f.deadLetter();
    f.failing = false;
    try {
      const { res, body } = await call(`/api/dlq/${seq}/redrive`, {
        method: 'POST',
        token: f.token,
      });
      expect(res.status, JSON.stringify(body)).to.equal(200);
      expect(body).to.deep.equal({ redriven: 1, duplicates: 0 });
      expect(await seqs()).not.to.include(seq);
      await waitFor('the handler to apply the redriven event', async () =>
        (await f.effects()).includes(eventId),
      );
    } finally {
      f.failing = true;
    }
  });

  it('requeues failed outbox rows and purges a consumer’s dead letters', async () => {
    await f.pool.query(`update jetbox_outbox set status = 'failed' where status = 'pending'`);
    const { rows } = await f.pool.query<{ n: number }>(
      `select count(*)::int as n from jetbox_outbox where status = 'failed'`,
    );
    const { body } = await call('/api/outbox/retry-failed', { method: 'POST', token: f.token });
    expect(rows[0]!.n).to.be.greaterThan(0);
    expect(body).to.deep.equal({ requeued: rows[0]!.n });

    await f.deadLetter();
    const before = (await seqs()).length;
    const purge = await call(`/api/dlq/purge?consumer=${CONSOLE_CONSUMER}&confirm=yes`, {
      method: 'POST',
      token: f.token,
    });
    expect(purge.body).to.deep.equal({ purged: before });
    expect(await seqs()).to.deep.equal([]);
  });
});
