import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constantValue, scanEnvReads } from './scanEnvReads.js';
import { DOCKER_DIR, REPO_ROOT } from './paths.js';

/** A program jetbox deploys, and where its configuration is read. */
export interface Program {
  name: 'match-service' | 'notifier' | 'jetbox-cli';
  /** Image repository in the manifests, without registry or tag. */
  image: string;
  /** The Dockerfile that builds the image. */
  dockerfile: string;
  /** The workspace package the image is pruned to. */
  package: string;
  /** Files (repository-relative) that read the program's environment variables. */
  configFiles: string[];
  /** Where `DEFAULT_PORT` is declared, for HTTP services. */
  portConstantFile?: string;
}

/**
 * Helpers that read environment variables on a program's behalf: a config file that calls one
 * reads that file's variables too.
 */
const ENV_HELPERS: Record<string, string> = {
  natsOptionsFromEnv: 'packages/events/src/jetstream/natsOptions.ts',
};

export const PROGRAMS: readonly Program[] = [
  {
    name: 'match-service',
    image: 'jetbox/match-service',
    dockerfile: join(DOCKER_DIR, 'match-service.Dockerfile'),
    package: '@jetbox/match-service',
    configFiles: ['packages/match-service/src/config.ts'],
    portConstantFile: 'packages/match-service/src/config.ts',
  },
  {
    name: 'notifier',
    image: 'jetbox/notifier',
    dockerfile: join(DOCKER_DIR, 'notifier.Dockerfile'),
    package: '@jetbox/notifier',
    configFiles: ['packages/notifier/src/config.ts'],
    portConstantFile: 'packages/notifier/src/config.ts',
  },
  {
    // The relay Deployment and the init Job: `jetbox relay|migrate|streams apply`.
    name: 'jetbox-cli',
    image: 'jetbox/relay',
    dockerfile: join(DOCKER_DIR, 'relay.Dockerfile'),
    package: '@jetbox/events',
    configFiles: [
      'packages/events/src/cli/cliConfig.ts',
      'packages/events/src/cli/main.ts',
      'packages/events/src/cli/runRelay.ts',
    ],
  },
];

/** Whether the program's sources are on this branch (notifier arrives separately). */
export function programExists(program: Program): boolean {
  return program.configFiles.every((f) => existsSync(join(REPO_ROOT, f)));
}

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
  for (const file of program.configFiles) {
    const reads = scanEnvReads(join(root, file));
    reads.names.forEach((n) => names.add(n));
    for (const call of reads.calls) {
      const helper = ENV_HELPERS[call];
      if (helper) scanEnvReads(join(root, helper)).names.forEach((n) => names.add(n));
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
