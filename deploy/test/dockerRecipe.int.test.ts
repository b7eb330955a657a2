import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  testNatsUrl,
  uniqueStreamName,
} from '@jetbox/events/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { expect } from 'chai';
import { REPO_ROOT } from '../src/paths.js';
import { PROGRAMS, type Program } from '../src/programs.js';
import { buildEnv, runDockerfile, type BuiltImage } from '../src/runDockerfile.js';

// Each image: the Dockerfile's own COPY/RUN steps in a temporary folder (npm ci, build,
// prune), then the result started against the local PostgreSQL and NATS. About a minute each.
const BUILD_TIMEOUT_MS = 8 * 60_000;
/** Development-only packages that must not reach a runtime image. */
const DEV_ONLY = [
  'typescript',
  'mocha',
  'tsx',
  'eslint',
  'turbo',
  'verdaccio',
  'json-schema-to-typescript',
];

const program = (name: Program['name']) => PROGRAMS.find((p) => p.name === name)!;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs a command of the built image to completion; bounded by `timeoutMs`. */
function exec(image: BuiltImage, argv: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const [cmd, ...args] = argv;
  const run = spawnSync(cmd === 'node' ? process.execPath : cmd!, args, {
    cwd: image.workdir,
    env: { ...buildEnv(), ...image.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Starts the image's ENTRYPOINT + CMD (or `args` instead of CMD) in the background. */
function start(
  image: BuiltImage,
  env: Record<string, string>,
  args?: string[],
): { child: ChildProcess; output: () => string } {
  const [cmd, ...rest] = [...image.entrypoint, ...(args ?? image.cmd)];
  let output = '';
  const child = spawn(cmd === 'node' ? process.execPath : cmd!, rest, {
    cwd: image.workdir,
    env: { ...buildEnv(), ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, output: () => output };
}

/** Sends SIGTERM and resolves with the exit code; SIGKILL after `timeoutMs`. */
async function stop(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Polls `url` until it answers 200, at most `timeoutMs`; fails with the process's output. */
async function waitForOk(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 600 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null)
      throw new Error(`exited ${child.exitCode} before ${url} answered:\n${output()}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${output()}`);
}

/** path → size and mtime of every file under `root`, to prove a run wrote nothing. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const rel of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const s = statSync(join(root, rel), { throwIfNoEntry: false });
    if (s?.isFile()) files.set(rel, `${s.size}:${s.mtimeMs}`);
  }
  return files;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([path, stamp]) => before.get(path) !== stamp).map(([path]) => path);
}

async function build(p: Program, workDir: string): Promise<BuiltImage> {
  const image = await runDockerfile(p.dockerfile, {
    context: REPO_ROOT,
    workDir,
    runTimeoutMs: 5 * 60_000,
  });
  const modules = join(image.workdir, 'node_modules');
  expect(existsSync(join(modules, 'pg')), 'production dependencies installed').to.equal(true);
  expect(
    DEV_ONLY.filter((m) => existsSync(join(modules, m))),
    'development dependencies in the image',
  ).to.deep.equal([]);
  expect(image.user).to.equal('node');
  return image;
}

describe('Docker recipes, executed without Docker', function () {
  this.timeout(BUILD_TIMEOUT_MS + 120_000);
  const workDirs: string[] = [];
  const newWorkDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetbox-image-'));
    workDirs.push(dir);
    return dir;
  };
  after(() => workDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /**
   * An HTTP service's image: built, started with its own database and streams, /healthz and
   * /readyz (PostgreSQL, NATS, no pending migration), its HEALTHCHECK, a clean stop, and no file
   * written (readOnlyRootFilesystem in the manifests relies on that).
   */
  const httpServiceCases: {
    name: Program['name'];
    env: () => Promise<Record<string, string>>;
  }[] = [
    {
      name: 'match-service',
      env: () => Promise.resolve({ RELAY_IN_PROCESS: 'false' }),
    },
    {
      // match-service is not running: notifier's readiness does not depend on it (a call to it
      // fails per event, through the circuit breaker), so its probes answer all the same.
      name: 'notifier',
      env: async () => ({ MATCH_SERVICE_URL: `http://127.0.0.1:${await freePort()}` }),
    },
  ];
  for (const service of httpServiceCases) {
    it(`${service.name}: builds, serves its probes, passes its HEALTHCHECK, stops cleanly and writes no file`, async function () {
      const image = await build(program(service.name), newWorkDir());
      const db = await createTestDatabase('deploy_image');
      const nc = await connectTestNats();
      const stream = uniqueStreamName('DEPLOY_IMG');
      const dlq = `${stream}_DLQ`;
      let running: ReturnType<typeof start> | undefined;
      try {
        const port = await freePort();
        const env = {
          PORT: String(port),
          DATABASE_URL: db.url,
          NATS_URL: testNatsUrl(),
          JETBOX_STREAM: stream,
          JETBOX_SUBJECT_PREFIX: stream.toLowerCase(),
          JETBOX_DLQ_STREAM: dlq,
          JETBOX_DLQ_SUBJECT_PREFIX: `${stream.toLowerCase()}_dlq`,
          ...(await service.env()),
        };
        const before = snapshot(image.root);
        running = start(image, env);
        await waitForOk(`http://127.0.0.1:${port}/healthz`, running.child, running.output);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status, await ready.text()).to.equal(200);
        expect(exec(image, image.healthcheck!, env).status).to.equal(0);
        // The same check against a port nothing listens on fails: it can tell.
        expect(
          exec(image, image.healthcheck!, { ...env, PORT: String(await freePort()) }).status,
        ).to.equal(1);
        expect(await stop(running.child), running.output()).to.equal(0);
        expect(changedFiles(before, snapshot(image.root))).to.deep.equal([]);
      } finally {
        if (running) await stop(running.child);
        await deleteStreams(nc, stream, dlq).catch(() => undefined);
        await nc.close();
        await db.drop();
      }
    });
  }

  it('relay (jetbox CLI): builds, migrates, applies streams and a consumer, runs the relay, and its liveness check passes', async () => {
    const image = await build(program('jetbox-cli'), newWorkDir());
    const db = await createTestDatabase('deploy_relay');
    const nc = await connectTestNats();
    const stream = uniqueStreamName('DEPLOY_RLY');
    const dlq = `${stream}_DLQ`;
    let running: ReturnType<typeof start> | undefined;
    try {
      const prefix = stream.toLowerCase();
      const env = {
        DATABASE_URL: db.url,
        NATS_URL: testNatsUrl(),
        JETBOX_STREAM: stream,
        JETBOX_SUBJECT_PREFIX: prefix,
        JETBOX_DLQ_STREAM: dlq,
        JETBOX_DLQ_SUBJECT_PREFIX: `${prefix}_dlq`,
        JETBOX_STREAM_REPLICAS: '1',
      };
      const cli = (...args: string[]) => exec(image, [...image.entrypoint, ...args], env);
      const migrated = cli('migrate');
      expect(migrated.status, migrated.output).to.equal(0);
      // The init steps of deploy/: streams, then notifier's durable consumer.
      const applied = cli('streams', 'apply');
      expect(applied.status, applied.output).to.equal(0);
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(stream)).config).to.include({ num_replicas: 1 });
      expect((await jsm.streams.info(stream)).config.subjects).to.deep.equal([`${prefix}.>`]);
      const consumer = cli(
        'consumers',
        'apply',
        '--name',
        'notifier',
        '--subject',
        `${prefix}.match.>`,
      );
      expect(consumer.status, consumer.output).to.equal(0);
      expect((await jsm.consumers.info(stream, 'notifier')).config.filter_subject).to.equal(
        `${prefix}.match.>`,
      );
      const again = cli(
        'consumers',
        'apply',
        '--name',
        'notifier',
        '--subject',
        `${prefix}.match.>`,
      );
      expect(again.output).to.include('unchanged');
      running = start(image, env);
      // The relay logs "relay started" once it holds its partitions.
      const deadline = Date.now() + 30_000;
      while (
        !running.output().includes('relay started') &&
        Date.now() < deadline &&
        running.child.exitCode === null
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(running.output()).to.include('relay started');
      const liveness = exec(image, image.healthcheck!, env);
      expect(liveness.status, liveness.output).to.equal(0);
      const noDatabase = exec(image, image.healthcheck!, {
        ...env,
        DATABASE_URL: `${db.url}_missing`,
      });
      expect(noDatabase.status, noDatabase.output).to.equal(1);
      expect(await stop(running.child), running.output()).to.equal(0);
    } finally {
      if (running) await stop(running.child);
      await deleteStreams(nc, stream, dlq).catch(() => undefined);
      await nc.close();
      await db.drop();
    }
  });
});
