import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  type TestDatabase,
} from '@jetbox/events/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('match-service as a process (src/main.ts)', () => {
  let db: TestDatabase;
  let nats: NatsConnection;
  let child: ChildProcess | undefined;
  const stream = uniqueStreamName('MATCH_SVC_MAIN');
  const dlqStream = `${stream}_DLQ`;
  const output: string[] = [];

  before(async () => {
    db = await createTestDatabase('match_service_main');
    nats = await connectTestNats();
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await deleteStreams(nats, stream, dlqStream);
    await nats?.close();
    await db?.drop();
  });

  it('starts, serves, publishes, and stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: packageDir,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        PORT: '0',
        JETBOX_STREAM: stream,
        // Own subjects: must not overlap the streams of other test files.
        JETBOX_SUBJECT_PREFIX: stream.toLowerCase(),
        JETBOX_PARTITIONS: '4',
        JETBOX_DLQ_STREAM: dlqStream,
        JETBOX_DLQ_SUBJECT_PREFIX: `${stream.toLowerCase()}_dlq`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no start in 20 s:\n${output.join('')}`)),
        20_000,
      );
      child!.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      child!.stdout!.on('data', (d: Buffer) => {
        output.push(d.toString());
        const m = /"url":"(http:\/\/localhost:\d+)"/.exec(output.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child!.once('exit', (code) => reject(new Error(`exited ${code}:\n${output.join('')}`)));
    });

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

    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
    const [code, signal] = await exited;
    clearTimeout(timer);
    expect({ code, signal }, output.join('')).to.deep.equal({ code: 0, signal: null });
    expect(output.join('')).to.match(/"msg":"stopped"/);
  });
});
