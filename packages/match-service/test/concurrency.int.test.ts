import { expect } from 'chai';
import { call, startHarness, type Harness } from './harness.js';

describe('match-service: concurrent match requests', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ relay: false });
  });

  after(async () => {
    await h?.close();
  });

  it('never matches a user twice, and pairs everyone who can be paired', async () => {
    const USERS = 40;
    const ids: string[] = [];
    for (let i = 0; i < USERS; i++) {
      // Interests overlap in a chain, so many pairs are possible and requests compete for them.
      const res = await call(h, 'POST', '/users', {
        name: `u${i}`,
        region: 'race',
        interests: ['common', `i${i % 3}`],
      });
      ids.push(res.body.id as string);
    }
    // Every user asks twice, all at once: 80 requests racing for the same waiting list.
    const replies = await Promise.all(
      [...ids, ...ids].map((id) => call(h, 'POST', `/users/${id}/match-requests`)),
    );
    for (const r of replies) expect([201, 202, 409], JSON.stringify(r.body)).to.include(r.status);

    const em = h.orm.em.fork();
    const matches = await em
      .getConnection()
      .execute<{ id: string; user_ids: string[] }[]>('select id, user_ids from matches');
    const matchedUsers = matches.flatMap((m) => m.user_ids);
    expect(new Set(matchedUsers).size, 'a user is in two matches').to.equal(matchedUsers.length);
    for (const m of matches) expect(m.user_ids[0]).to.not.equal(m.user_ids[1]);
    const waiting = await em
      .getConnection()
      .execute<{ user_id: string }[]>('select user_id from match_requests');
    for (const w of waiting) expect(matchedUsers).to.not.include(w.user_id);
    // All share "common": at most one user can be left waiting, and everyone asked.
    expect(matches.length).to.equal(USERS / 2);
    expect(waiting).to.have.length(0);
    const created = replies.filter((r) => r.status === 201).map((r) => r.body.matchId as string);
    expect(new Set(created).size).to.equal(matches.length);
    const [events] = await em
      .getConnection()
      .execute<{ n: number }[]>(
        `select count(*)::int as n from jetbox_outbox where type = 'com.jetbox.match.created'`,
      );
    expect(events!.n).to.equal(matches.length);
    expect(h.errors).to.deep.equal([]);
  });

  it('keeps regions and interests apart under concurrency', async () => {
    const make = async (region: string, interest: string) =>
      (await call(h, 'POST', '/users', { name: 'x', region, interests: [interest] })).body
        .id as string;
    const users = await Promise.all([
      make('north', 'a'),
      make('north', 'b'),
      make('south', 'a'),
      make('east', 'a'),
    ]);
    const replies = await Promise.all(
      users.map((id) => call(h, 'POST', `/users/${id}/match-requests`)),
    );
    expect(replies.map((r) => r.status)).to.deep.equal([202, 202, 202, 202]);
  });
});
