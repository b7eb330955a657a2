import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantValue, scanEnvReads } from './scanEnvReads.js';
import { DOCKER_DIR, REPO_ROOT } from './paths.js';
import { servedPaths } from './servedPaths.js';

/** A program jetbox deploys, and where its configuration is read. */
export interface Program {
  name: 'match-service' | 'notifier' | 'jetbox-cli';
  /** Image repository in the manifests, without registry or tag. */
  image: string;
  /** The Dockerfile that builds the image. */
  dockerfile: string;
  /** The workspace package the image is pruned to. */
  package: string;
  /** That package's folder (repository-relative). */
  packageDir: string;
  /** Files (repository-relative) that read the program's environment variables. */
  configFiles: string[];
  /** Where `DEFAULT_PORT` is declared, for HTTP services. */
  portConstantFile?: string;
}

/**
 * Helpers that read environment variables on a program's behalf: a config file that calls one
 * reads that file's variables too.
 */
export const ENV_HELPERS: Readonly<Record<string, string>> = {
  natsOptionsFromEnv: 'packages/events/src/jetstream/natsOptions.ts',
  readJetboxEnv: 'packages/service-kit/src/readJetboxEnv.ts',
};

/**
 * Workspace libraries that route HTTP paths on a service's behalf: service-kit's
 * `createServiceApp` mounts `/healthz`, `/readyz` and `/metrics` for every service that
 * depends on it.
 */
const ROUTE_LIBRARIES: Readonly<Record<string, string>> = {
  '@jetbox/service-kit': 'packages/service-kit/src',
};

export const PROGRAMS: readonly Program[] = [
  {
    name: 'match-service',
    image: 'jetbox/match-service',
    dockerfile: join(DOCKER_DIR, 'match-service.Dockerfile'),
    package: '@jetbox/match-service',
    packageDir: 'packages/match-service',
    configFiles: ['packages/match-service/src/config.ts'],
    portConstantFile: 'packages/match-service/src/config.ts',
  },
  {
    name: 'notifier',
    image: 'jetbox/notifier',
    dockerfile: join(DOCKER_DIR, 'notifier.Dockerfile'),
    package: '@jetbox/notifier',
    packageDir: 'packages/notifier',
    configFiles: ['packages/notifier/src/config.ts'],
    portConstantFile: 'packages/notifier/src/config.ts',
  },
  {
    // The relay Deployment and the init Job: `jetbox relay|migrate|streams apply`.
    name: 'jetbox-cli',
    image: 'jetbox/relay',
    dockerfile: join(DOCKER_DIR, 'relay.Dockerfile'),
    package: '@jetbox/events',
    packageDir: 'packages/events',
    configFiles: [
      'packages/events/src/cli/cliConfig.ts',
      'packages/events/src/cli/main.ts',
      'packages/events/src/cli/runRelay.ts',
    ],
  },
];

/** The program of an image reference such as `registry.example.com/jetbox/relay:0.1.0`. */
export function programOfImage(image: string): Program | undefined {
  const withoutTag = image.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
  return PROGRAMS.find((p) => withoutTag === p.image || withoutTag.endsWith(`/${p.image}`));
}

/**
 * Every environment variable the program reads, from its config files and the helpers they
 * call. `root` lets tests scan a modified copy of the repository.
 */
export function programEnv(program: Program, root = REPO_ROOT): Set<string> {
  const names = new Set<string>();
  // Helpers may call helpers (readJetboxEnv → natsOptionsFromEnv); each file is read once.
  const pending = [...program.configFiles];
  const seen = new Set<string>();
  for (let file = pending.shift(); file !== undefined; file = pending.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const reads = scanEnvReads(join(root, file));
    reads.names.forEach((n) => names.add(n));
    for (const call of reads.calls) {
      const helper = ENV_HELPERS[call];
      if (helper) pending.push(helper);
    }
  }
  return names;
}

/** The program's `DEFAULT_PORT`, when it is an HTTP service. */
export function programDefaultPort(program: Program, root = REPO_ROOT): number | undefined {
  if (!program.portConstantFile) return undefined;
  const value = constantValue(join(root, program.portConstantFile), 'DEFAULT_PORT');
  if (value === undefined) throw new Error(`${program.portConstantFile} declares no DEFAULT_PORT`);
  return Number(value);
}

/**
 * The paths a program's HTTP server routes: its own `src/` and that of each workspace library
 * in its `dependencies` that routes paths for it ({@link ROUTE_LIBRARIES}).
 */
export function programServedPaths(program: Program, root = REPO_ROOT): Set<string> {
  const manifest = JSON.parse(
    readFileSync(join(root, program.packageDir, 'package.json'), 'utf8'),
  ) as { dependencies?: Record<string, string> };
  const dirs = [
    join(program.packageDir, 'src'),
    ...Object.keys(manifest.dependencies ?? {}).flatMap((d) => ROUTE_LIBRARIES[d] ?? []),
  ];
  return new Set(dirs.flatMap((d) => [...servedPaths(join(root, d))]));
}
