#!/usr/bin/env node
// `npm run demo`: a short scenario against the services `npm run dev` runs — registers four
// users, matches them in two pairs, cancels one match, and prints what each user was notified.
const matchService = (process.env.MATCH_SERVICE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const notifier = (process.env.NOTIFIER_URL ?? 'http://127.0.0.1:3001').replace(/\/$/, '');
const WAIT_MS = 20_000;

async function call(method, url, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new Error(`${method} ${url} failed (${err.cause?.code ?? err.message}); is \`npm run dev\` running?`);
  }
  const json = await res.json();
  if (res.status >= 400) throw new Error(`${method} ${url} → ${res.status}: ${json.detail ?? JSON.stringify(json)}`);
  return json;
}

async function main() {
  const run = Date.now().toString(36);
  const people = [
    { name: 'Ada', region: `eu-${run}`, interests: ['chess', 'go'] },
    { name: 'Grace', region: `eu-${run}`, interests: ['go'] },
    { name: 'Linus', region: `us-${run}`, interests: ['sailing'] },
    { name: 'Margaret', region: `us-${run}`, interests: ['sailing', 'chess'] },
  ];
  const users = [];
  for (const p of people) {
    const user = await call('POST', `${matchService}/users`, p);
    users.push(user);
    console.log(`registered ${user.name.padEnd(8)} ${user.id} (${p.region.split('-')[0]}, ${p.interests.join(', ')})`);
  }
  const matches = [];
  for (const user of users) {
    const r = await call('POST', `${matchService}/users/${user.id}/match-requests`);
    console.log(`${user.name.padEnd(8)} asks to be matched → ${r.status}${r.matchId ? ` (match ${r.matchId})` : ''}`);
    if (r.matchId) matches.push(r.matchId);
  }
  const cancelled = await call('POST', `${matchService}/matches/${matches[1]}/cancel`, {
    reason: { code: 'user_request', note: 'demo' },
  });
  console.log(`cancelled match ${cancelled.id} (${cancelled.reason.code})`);

  // created ×2 for each match, cancelled ×2 for one: six notifications in all.
  const expected = { [users[0].id]: 1, [users[1].id]: 1, [users[2].id]: 2, [users[3].id]: 2 };
  const deadline = Date.now() + WAIT_MS;
  let received = {};
  for (;;) {
    received = {};
    for (const user of users) {
      received[user.id] = await call('GET', `${notifier}/users/${user.id}/notifications`);
    }
    if (users.every((u) => received[u.id].length >= expected[u.id])) break;
    if (Date.now() > deadline) {
      throw new Error(`not every notification arrived within ${WAIT_MS / 1000} s; see the notifier's log`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log('\nnotifications received:');
  for (const user of users) {
    for (const n of received[user.id]) {
      console.log(`  ${user.name.padEnd(8)} ${n.type.padEnd(27)} match ${n.matchId}  ${n.createdAt}`);
    }
  }
}

main().catch((err) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
