import { parseArgs } from 'node:util';
import type { BaselineSource } from './baseline.js';
import { CompatError } from './CompatError.js';

export const COMPAT_USAGE = `usage: npm run schemas:compat -- [--registry URL | --ref GIT_REF | --tarball FILE | --against DIR]

Compares schemas/events/ with the last published @jetbox/schemas and fails on a breaking change.
  (no flag)        the latest version on the registry; when nothing is published, the git ref below
  --registry URL   the latest version on this registry
  --ref GIT_REF    events/ at a git ref (default: highest schemas-v* tag, else HEAD)
  --tarball FILE   a package tarball (npm pack output)
  --against DIR    a package folder (its events/) or a folder of schema files
Exit code: 0 compatible, 1 breaking change, 2 could not compare (usage, baseline unreadable).`;

export interface CompatArgs {
  help: boolean;
  source: BaselineSource;
}

/** Parses the command line; throws a `CompatError` naming what is wrong. */
export function parseCompatArgs(argv: readonly string[]): CompatArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        registry: { type: 'string' },
        ref: { type: 'string' },
        tarball: { type: 'string' },
        against: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CompatError((err as Error).message, true);
  }
  const given = (['registry', 'ref', 'tarball', 'against'] as const).filter(
    (k) => values[k] !== undefined,
  );
  for (const k of given) {
    if (values[k]!.trim() === '') throw new CompatError(`--${k} needs a value`, true);
  }
  if (given.length > 1) {
    throw new CompatError(
      `use one of --registry, --ref, --tarball, --against; got ${given.map((k) => `--${k}`).join(' and ')}`,
      true,
    );
  }
  const help = values.help ?? false;
  if (values.ref !== undefined) return { help, source: { kind: 'git', ref: values.ref } };
  if (values.tarball !== undefined)
    return { help, source: { kind: 'tarball', path: values.tarball } };
  if (values.against !== undefined)
    return { help, source: { kind: 'folder', dir: values.against } };
  if (values.registry !== undefined) {
    if (!/^https?:\/\//.test(values.registry)) {
      throw new CompatError(
        `--registry must be an http(s) URL, got ${JSON.stringify(values.registry)}`,
        true,
      );
    }
    return { help, source: { kind: 'registry', registry: values.registry } };
  }
  return { help, source: { kind: 'registry' } };
}
