import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface SpawnServiceOptions {
  /** Used in error messages. */
  name: string;
  /** The service's package folder. */
  cwd: string;
  /** Node arguments. @defaultValue `['--import', 'tsx', 'src/main.ts']` */
  args?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** The first capture group is the service's URL, read from its log. @defaultValue `"url":"http://localhost:<port>"` */
  urlPattern?: RegExp;
  /** @defaultValue 30000 */
  startTimeoutMs?: number;
}

/** A service started as its own process, the way it runs in production. */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit, SIGKILLing after `timeoutMs`. Idempotent. */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL, as a crash would, and waits for the exit. */
  kill(): Promise<void>;
}

/** Starts a service process and resolves once it logs the URL it listens on. */
export async function spawnService(options: SpawnServiceOptions): Promise<ServiceProcess> {
  const output: string[] = [];
  const child = spawn(process.execPath, options.args ?? ['--import', 'tsx', 'src/main.ts'], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  // Reaped whatever happens to the test: the exit promise must never be an unhandled rejection.
  exited.catch(() => undefined);
  const pattern = options.urlPattern ?? /"url":"(http:\/\/localhost:\d+)"/;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${options.name} did not start in ${timeoutMs} ms:\n${output.join('')}`),
          ),
        timeoutMs,
      );
      // Output is kept for the whole run; the URL is looked for only until it is found.
      const onData = () => {
        const m = pattern.exec(output.join(''));
        if (m) {
          child.stdout.off('data', onData);
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      const keep = (d: Buffer) => output.push(d.toString());
      child.stdout.on('data', keep);
      child.stdout.on('data', onData);
      child.stderr.on('data', keep);
      void exited.then(([code, signal]) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${options.name} exited (${code ?? signal}) before listening:\n${output.join('')}`,
          ),
        );
      });
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
  let stopping: Promise<{ code: number | null; signal: string | null }> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 15_000) => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const [code, sig] = await exited;
      clearTimeout(timer);
      return { code, signal: sig };
    })();
    return stopping;
  };
  return {
    url,
    child,
    output: () => output.join(''),
    stop,
    kill: async () => {
      await stop('SIGKILL');
    },
  };
}
