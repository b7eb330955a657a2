import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Options of a test-owned `nats-server`. */
export interface NatsServerOptions {
  /** Enable JetStream (`-js`). @defaultValue `true` */
  jetstream?: boolean;
  /** Client port on 127.0.0.1. @defaultValue a free port */
  port?: number;
  /** JetStream store directory (`-sd`); kept on dispose when given. @defaultValue a new temp dir, removed on dispose */
  storeDir?: string;
  /** Extra command-line arguments, e.g. `['--user', 'u', '--pass', 'p']`. @defaultValue `[]` */
  args?: string[];
  /** `server_name` (`-n`). @defaultValue `jetbox_<port>` */
  serverName?: string;
  /** How long start and restart may take before failing with the server's log. @defaultValue 15 s */
  startTimeoutMs?: number;
}

/** A `nats-server` process owned by a test. */
export interface NatsServerHandle extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** `server_name`, as JetStream reports it (e.g. `StreamInfo.cluster.leader`). */
  readonly serverName: string;
  /** The JetStream store directory, the same across restarts. */
  readonly storeDir: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** PID of the current process, `undefined` when stopped. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for exit (SIGKILL after a bound). Keeps the store; no-op when stopped. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. Keeps the store; no-op when stopped. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same store (stopping first if running). */
  restart(): Promise<void>;
  /** Stops and removes the store directory if this helper created it. Safe to call twice. */
  dispose(): Promise<void>;
  /** The last lines the server logged. */
  logTail(): string;
}

/** Options of a test-owned JetStream cluster. */
export interface NatsClusterOptions {
  /** Number of servers. @defaultValue 3 */
  size?: number;
  /** How long until JetStream has a meta leader and accepts R`size` streams. @defaultValue 30 s */
  startTimeoutMs?: number;
}

/** A JetStream cluster of test-owned `nats-server` processes on loopback ports. */
export interface NatsClusterHandle extends AsyncDisposable {
  /** Client URLs of all servers, for `connect({ servers: urls })`. */
  readonly urls: string[];
  readonly servers: NatsServerHandle[];
  /** Stops every server (keeping the stores). */
  stop(): Promise<void>;
  /** Stops every server and removes the stores. */
  dispose(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;
const DEFAULT_CLUSTER_START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_LINES = 200;

/** Starts a `nats-server` (JetStream on by default) on a free loopback port and waits until it serves. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  // A free port found by listening on 0 can be taken by someone else before the server binds
  // it; pick another one a few times rather than fail a test on that race.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePorts(1))[0]!;
    const server = new TestNatsServer({ ...options, port }, 'jetstream');
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.dispose();
      const inUse = /address already in use/i.test(server.logTail());
      if (options.port !== undefined || !inUse || attempt >= 3) throw err;
    }
  }
}

/** Starts a JetStream cluster and waits until it has a meta leader and accepts replicated streams. */
export async function startNatsCluster(
  options: NatsClusterOptions = {},
): Promise<NatsClusterHandle> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1 || size > 7) {
    throw new RangeError(`cluster size must be an integer from 1 to 7, got ${size}`);
  }
  const ports = await freePorts(size * 2);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size);
  const clusterName = `jetbox_${randomBytes(4).toString('hex')}`;
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const servers = clientPorts.map(
    (port, i) =>
      new TestNatsServer(
        {
          port,
          serverName: `${clusterName}_n${i + 1}`,
          args: [
            '--cluster',
            `nats://127.0.0.1:${routePorts[i]}`,
            '--routes',
            routes,
            '--cluster_name',
            clusterName,
          ],
        },
        // A member alone cannot serve JetStream until a quorum has elected a meta leader.
        'connect',
      ),
  );
  const handle: NatsClusterHandle = {
    urls: servers.map((s) => s.url),
    servers,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
    dispose: async () => {
      await Promise.all(servers.map((s) => s.dispose()));
    },
    [Symbol.asyncDispose]: () => handle.dispose(),
  };
  try {
    await Promise.all(servers.map((s) => s.start()));
    await waitForClusterJetStream(
      handle.urls,
      size,
      options.startTimeoutMs ?? DEFAULT_CLUSTER_START_TIMEOUT_MS,
      servers,
    );
    return handle;
  } catch (err) {
    await handle.dispose();
    throw err;
  }
}

type Readiness = 'connect' | 'jetstream';

class TestNatsServer implements NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  readonly storeDir: string;
  private readonly ownsStore: boolean;
  private readonly jetstream: boolean;
  private readonly args: string[];
  private readonly startTimeoutMs: number;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitCode: string | undefined;
  private readonly log: string[] = [];
  private disposed = false;

  constructor(
    options: NatsServerOptions & { port: number },
    private readonly readiness: Readiness,
  ) {
    this.port = options.port;
    this.url = `nats://127.0.0.1:${this.port}`;
    this.jetstream = options.jetstream ?? true;
    this.ownsStore = options.storeDir === undefined;
    this.storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'jetbox-nats-'));
    if (this.ownsStore) ownedDirs.add(this.storeDir);
    ensureExitHook();
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    this.serverName = options.serverName ?? `jetbox_${this.port}`;
    this.args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-n',
      this.serverName,
      ...(this.jetstream ? ['-js', '-sd', this.storeDir] : []),
      ...(options.args ?? []),
    ];
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.disposed) throw new Error(`nats-server on port ${this.port} was disposed`);
    if (this.child) return;
    const child = spawn(natsServerBinary(), this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exitCode = undefined;
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit') so the log holds everything the server wrote before it went.
      child.once('close', (code, signal) => {
        this.exitCode = signal ?? String(code);
        liveChildren.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once('error', (err) => {
        this.record(`spawn failed: ${err.message}`);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.record(chunk));
    }
    // Never keep the test process alive: the exit hook kills servers a test forgot.
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    await this.waitUntilReady();
  }

  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stop();
    if (this.ownsStore) {
      rmSync(this.storeDir, { recursive: true, force: true });
      ownedDirs.delete(this.storeDir);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  logTail(): string {
    return this.log.join('\n');
  }

  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    const timer = new AbortController();
    const stopped = await Promise.race([
      this.exited.then(() => true),
      delay(STOP_TIMEOUT_MS, false, { signal: timer.signal }).catch(() => true),
    ]);
    timer.abort();
    if (!stopped) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let lastError = 'not attempted';
    while (Date.now() < deadline) {
      if (!this.child) break;
      try {
        const info = await readServerInfo(this.port, Math.min(1000, deadline - Date.now()));
        // On a single server JetStream is enabled before the client listener opens, so an INFO
        // saying `jetstream: true` means the JetStream API answers.
        if (this.readiness === 'connect' || !this.jetstream || info.jetstream === true) return;
        lastError = 'INFO does not announce JetStream yet';
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await delay(25);
    }
    const why = this.child
      ? `did not become ready within ${this.startTimeoutMs} ms (last check: ${lastError})`
      : `exited during start (${this.exitCode ?? 'unknown'})`;
    await this.kill();
    throw new Error(`nats-server on port ${this.port} ${why}; log tail:\n${this.tail(30)}`);
  }

  private record(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line) this.log.push(line);
    }
    if (this.log.length > LOG_LINES) this.log.splice(0, this.log.length - LOG_LINES);
  }

  private tail(lines: number): string {
    return this.log.slice(-lines).join('\n') || '(no output)';
  }
}

/** Reads the `INFO {…}` line a NATS server sends first on every client connection. */
async function readServerInfo(port: number, timeoutMs: number): Promise<{ jetstream?: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (err: Error | undefined, info?: { jetstream?: boolean }) => {
      socket.destroy();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(info ?? {});
    };
    const timer = setTimeout(() => done(new Error(`no INFO within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return done(new Error(`unexpected greeting ${line}`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as { jetstream?: boolean });
      } catch (err) {
        done(err as Error);
      }
    });
    socket.on('error', (err) => done(err));
  });
}

async function waitForClusterJetStream(
  urls: string[],
  replicas: number,
  timeoutMs: number,
  servers: TestNatsServer[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({
    servers: urls,
    noAsyncTraces: true,
    name: 'jetbox-test-cluster-probe',
  });
  let lastError = 'not attempted';
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
    const probe = `JETBOX_PROBE_${randomBytes(4).toString('hex').toUpperCase()}`;
    while (Date.now() < deadline) {
      try {
        await jsm.getAccountInfo();
        // A meta leader alone is not enough: every peer must have joined for an R3 stream.
        await jsm.streams.add({
          name: probe,
          subjects: [`${probe.toLowerCase()}.>`],
          num_replicas: replicas,
          storage: StorageType.Memory,
        });
        await jsm.streams.delete(probe);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await delay(100);
    }
  } finally {
    await nc.close();
  }
  const logs = servers.map((s) => `--- ${s.url}\n${s.logTail().split('\n').slice(-10).join('\n')}`);
  throw new Error(
    `JetStream cluster did not become ready within ${timeoutMs} ms (last error: ${lastError})\n${logs.join('\n')}`,
  );
}

/** Free loopback ports, all held open at once so they are distinct. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port assigned');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

let binary: string | undefined;

/** `NATS_SERVER_BIN`, else `nats-server` on PATH, else `/usr/sbin/nats-server`. */
function natsServerBinary(): string {
  if (binary) return binary;
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => dir && join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      binary = candidate;
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error('nats-server binary not found: set NATS_SERVER_BIN or put it on PATH');
}

const liveChildren = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

/** A test that forgets a server must neither leak the process nor its temp dir. */
function ensureExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  });
}
