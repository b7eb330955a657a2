import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Baseline } from './baseline.js';
import { CompatError } from './CompatError.js';
import { exec, firstLine } from './exec.js';
import { readTarballBaseline } from './readTarballBaseline.js';

/**
 * The latest published version of the package, fetched with the user's own npm (so its
 * registry and auth settings apply); `null` when the registry has never heard of it (E404).
 * `registry` overrides both `registry` and the package scope's registry.
 */
export async function readRegistryBaseline(
  packageName: string,
  registry?: string,
): Promise<Baseline | null> {
  const scope = packageName.startsWith('@') ? packageName.slice(0, packageName.indexOf('/')) : null;
  const flags = registry
    ? ['--registry', registry, ...(scope ? [`--${scope}:registry=${registry}`] : [])]
    : [];
  // Outside the workspace, so npm cannot mistake the spec for the local workspace package.
  const dir = await mkdtemp(join(tmpdir(), 'jetbox-compat-registry-'));
  try {
    const view = await exec('npm', ['view', packageName, 'version', '--json', ...flags], dir);
    if (view.code !== 0) {
      if (/\bE404\b/.test(view.stdout + view.stderr)) return null;
      throw new CompatError(
        `npm view ${packageName} failed: ${firstLine(view)}; compare with --ref, --tarball or --against instead`,
      );
    }
    const version = JSON.parse(view.stdout) as unknown;
    if (typeof version !== 'string') {
      throw new CompatError(`npm view ${packageName} version returned ${view.stdout.trim()}`);
    }
    const spec = `${packageName}@${version}`;
    const pack = await exec(
      'npm',
      ['pack', spec, '--json', '--pack-destination', dir, ...flags],
      dir,
    );
    if (pack.code !== 0) throw new CompatError(`npm pack ${spec} failed: ${firstLine(pack)}`);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as {
      filename: string;
    }[];
    if (!packed) throw new CompatError(`npm pack ${spec} wrote no tarball`);
    return await readTarballBaseline(
      join(dir, packed.filename),
      `${spec} from ${registry ?? 'the configured registry'}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
