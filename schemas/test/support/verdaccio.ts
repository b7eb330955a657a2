import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 3;

export interface VerdaccioHandle {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** Everything verdaccio printed, for debugging a failed run. */
  logFile: string;
  /** SIGTERM, then SIGKILL if it has not exited in time; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A throwaway npm registry on a loopback port: storage and config under `dir`, no uplinks
 * (nothing is proxied), anyone may publish `@jetbox/*`. npm itself still insists on a token
 * before it publishes; any token does, verdaccio treats a request it cannot verify as
 * anonymous.
 */
export async function startVerdaccio(dir: string): Promise<VerdaccioHandle> {
  const bin = join(
    dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')),
    'bin',
    'verdaccio',
  );
  await mkdir(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      '    max_users: -1',
      'uplinks: {}',
      'packages:',
      "  '@jetbox/*':",
      '    access: $all',
      '    publish: $all',
      '    unpublish: $all',
      "  '**':",
      '    access: $all',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: http }',
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'verdaccio.log');
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    // Another process may take the port between probing and binding: then try a fresh one.
    const port = await freePort();
    const log = await open(logFile, 'a');
    const child = spawn(
      process.execPath,
      [bin, '--config', config, '--listen', `127.0.0.1:${port}`],
      {
        stdio: ['ignore', log.fd, log.fd],
      },
    );
    await log.close();
    const handle = makeHandle(child, port, logFile);
    try {
      await waitUntilReady(handle.url, child, DEFAULT_START_TIMEOUT_MS);
      return handle;
    } catch (err) {
      lastError = err as Error;
      await handle.stop();
    }
  }
  const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
  throw new Error(`verdaccio did not start: ${lastError?.message}\n${tail}`);
}

function makeHandle(child: ChildProcess, port: number, logFile: string): VerdaccioHandle {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = sleep(DEFAULT_STOP_TIMEOUT_MS).then(() => 'timeout' as const);
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with code ${child.exitCode}`);
    try {
      const res = await fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
