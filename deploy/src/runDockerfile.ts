import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, posix, relative } from 'node:path';
import { parseDockerfile, type Instruction, type Stage } from './parseDockerfile.js';
import { readDockerignore } from './readDockerignore.js';

/** The final stage of a Dockerfile, built into a folder instead of an image. */
export interface BuiltImage {
  /** The folder that stands for the image's `/`. */
  root: string;
  /** The final WORKDIR, inside `root`. */
  workdir: string;
  /** ENV of the final stage, paths mapped into `root`. */
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK command (exec form), paths mapped into `root`. */
  healthcheck: string[] | undefined;
  user: string | undefined;
  expose: number[];
}

export interface RunDockerfileOptions {
  /** The build context (the repository root for jetbox's images). */
  context: string;
  /** An empty folder for the stages' file systems. */
  workDir: string;
  /** Longest any one RUN may take. @defaultValue 5 minutes */
  runTimeoutMs?: number;
  /** Receives each step as it starts. @defaultValue silent */
  log?: (line: string) => void;
}

/**
 * Executes a Dockerfile's steps without Docker, so its recipe is proven on a machine without
 * a Docker engine: each stage gets a folder standing for its `/`; `WORKDIR`, `ENV`, `COPY`
 * (from the context, honouring `.dockerignore`, or `--from` an earlier stage) and `RUN` (with
 * `sh -c`, on this machine's Node and npm instead of the base image's) are carried out in
 * order; the final stage's `USER`, `EXPOSE`, `HEALTHCHECK`, `ENTRYPOINT` and `CMD` are
 * returned. Absolute paths under a stage's WORKDIRs are mapped into its folder. The base image
 * itself, `USER` (everything runs as the current user) and `--chown` are not emulated.
 */
export async function runDockerfile(
  file: string,
  options: RunDockerfileOptions,
): Promise<BuiltImage> {
  const { stages } = parseDockerfile(file);
  const ignored = readDockerignore(options.context);
  const log = options.log ?? (() => undefined);
  const roots = new Map<string, string>();
  let image: BuiltImage | undefined;
  for (const [index, stage] of stages.entries()) {
    const root = join(options.workDir, `${index}-${stage.name ?? 'stage'}`);
    mkdirSync(root, { recursive: true });
    image = await runStage(stage, root, { ...options, ignored, log, roots, file });
    roots.set(stage.name ?? String(index), root);
  }
  if (!image) throw new Error(`${file} has no stage`);
  return image;
}

interface StageContext extends RunDockerfileOptions {
  ignored: (relativePath: string) => boolean;
  log: (line: string) => void;
  roots: Map<string, string>;
  file: string;
}

async function runStage(stage: Stage, root: string, ctx: StageContext): Promise<BuiltImage> {
  let workdir = '/';
  const workdirs: string[] = [];
  const env: Record<string, string> = {};
  const image: BuiltImage = {
    root,
    workdir: root,
    env,
    entrypoint: [],
    cmd: [],
    healthcheck: undefined,
    user: undefined,
    expose: [],
  };
  // Only paths under the stage's own WORKDIRs are its files; /usr/bin and the like are the host's.
  const map = (path: string) =>
    workdirs.some((w) => path === w || path.startsWith(`${w}/`)) ? join(root, path) : path;
  const mapAll = (args: string[]) => args.map((a) => (a.startsWith('/') ? map(a) : a));
  const where = (i: Instruction) => `${basename(ctx.file)}:${i.line}`;

  for (const i of stage.instructions) {
    switch (i.keyword) {
      case 'WORKDIR': {
        workdir = posix.resolve(workdir, i.args);
        workdirs.push(workdir);
        mkdirSync(join(root, workdir), { recursive: true });
        image.workdir = join(root, workdir);
        break;
      }
      case 'ENV': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(i.args);
        if (!m) throw new Error(`${where(i)}: only ENV NAME=value is supported`);
        const value = m[2]!.replace(
          /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
          (_, n: string) => env[n] ?? process.env[n] ?? '',
        );
        env[m[1]!] = value
          .split(':')
          .map((part) => (part.startsWith('/') ? map(part) : part))
          .join(':');
        break;
      }
      case 'COPY': {
        const parts = i.exec ?? i.args.split(/\s+/);
        const dest = parts.at(-1)!;
        const sources = parts.slice(0, -1);
        const target = join(root, posix.resolve(workdir, dest));
        const from = i.flags.from;
        const fromRoot = from === undefined ? undefined : ctx.roots.get(from);
        if (from !== undefined && fromRoot === undefined)
          throw new Error(`${where(i)}: no stage ${from} before this one`);
        ctx.log(`${where(i)} COPY ${i.args}`);
        for (const source of sources) {
          const path = fromRoot
            ? join(fromRoot, posix.resolve('/', source))
            : join(ctx.context, source);
          if (!existsSync(path)) throw new Error(`${where(i)}: ${source} does not exist`);
          // A file into a folder (`dest/`) keeps its name; a folder's contents merge into dest.
          const to =
            !statSync(path).isDirectory() && (dest.endsWith('/') || sources.length > 1)
              ? join(target, basename(path))
              : target;
          cpSync(path, to, {
            recursive: true,
            // Workspace links in node_modules are relative: keep them as they are.
            verbatimSymlinks: true,
            filter: (src) => {
              if (fromRoot) return true;
              const rel = relative(ctx.context, src).split('\\').join('/');
              return rel === '' || !ctx.ignored(rel);
            },
          });
        }
        break;
      }
      case 'RUN': {
        ctx.log(`${where(i)} RUN ${i.args}`);
        await sh(
          i.args,
          join(root, workdir),
          { ...buildEnv(), ...env },
          ctx.runTimeoutMs ?? 5 * 60_000,
          where(i),
        );
        break;
      }
      case 'USER':
        image.user = i.args;
        break;
      case 'EXPOSE':
        image.expose.push(...i.args.split(/\s+/).map((p) => Number(p.replace(/\/tcp$/, ''))));
        break;
      case 'HEALTHCHECK':
        if (!i.exec) throw new Error(`${where(i)}: HEALTHCHECK must use the exec form`);
        image.healthcheck = mapAll(i.exec);
        break;
      case 'ENTRYPOINT':
      case 'CMD': {
        if (!i.exec) throw new Error(`${where(i)}: ${i.keyword} must use the exec form`);
        if (i.keyword === 'CMD') image.cmd = mapAll(i.exec);
        else image.entrypoint = mapAll(i.exec);
        break;
      }
      case 'ARG':
      case 'LABEL':
        break;
      default:
        throw new Error(`${where(i)}: ${i.keyword} is not emulated`);
    }
  }
  return image;
}

/**
 * The environment RUN steps see: this machine's, less what the surrounding npm/turbo run sets
 * (npm_config_*, npm_package_*, TURBO_*), which would leak the outer workspace into the build.
 */
export function buildEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^npm_/i.test(key) ||
      key === 'INIT_CWD' ||
      (key.startsWith('TURBO_') && key !== 'TURBO_TELEMETRY_DISABLED')
    )
      continue;
    env[key] = value;
  }
  env.TURBO_TELEMETRY_DISABLED = '1';
  return env;
}

function sh(
  command: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
  where: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout ends npm's children too, not only the shell.
    const child = spawn('sh', ['-c', command], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      // The tail is what explains a failure; a full npm log is not worth the memory.
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${where}: "${command}" exited ${signal ?? code}:\n${output}`));
    });
  });
}
