import type { Baseline, BaselineSource } from './baseline.js';
import { readFolderBaseline } from './readFolderBaseline.js';
import { readGitBaseline } from './readGitBaseline.js';
import { readRegistryBaseline } from './readRegistryBaseline.js';
import { readTarballBaseline } from './readTarballBaseline.js';

/** Loads the schemas to compare with; an unpublished package falls back to git. */
export async function resolveBaseline(
  source: BaselineSource,
  packageDir: string,
  packageName: string,
): Promise<Baseline> {
  switch (source.kind) {
    case 'folder':
      return readFolderBaseline(source.dir);
    case 'tarball':
      return readTarballBaseline(source.path);
    case 'git':
      return readGitBaseline(packageDir, source.ref);
    case 'registry': {
      const published = await readRegistryBaseline(packageName, source.registry);
      if (published) return published;
      const git = await readGitBaseline(packageDir);
      return { ...git, description: `${git.description}; ${packageName} is not published yet` };
    }
  }
}
