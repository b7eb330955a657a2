import type { Baseline } from './baseline.js';
import { CompatError } from './CompatError.js';
import { exec, firstLine } from './exec.js';
import { parseSchemaSet } from './readSchemaSet.js';

/** Tags that mark a published version of the schemas package, e.g. `schemas-v0.2.0`. */
export const RELEASE_TAG_PATTERN = 'schemas-v*';

/**
 * The `events/` folder of the package at a git ref: by default the highest `schemas-v*` tag,
 * or `HEAD` when there is none, so an unpublished repository compares against its last commit.
 */
export async function readGitBaseline(packageDir: string, ref?: string): Promise<Baseline> {
  const git = (...args: string[]) => exec('git', args, packageDir);
  let chosen = ref;
  let why = '';
  if (chosen === undefined) {
    const tags = await git('tag', '--list', RELEASE_TAG_PATTERN, '--sort=-v:refname');
    if (tags.code !== 0) throw new CompatError(`git cannot list tags: ${firstLine(tags)}`);
    chosen = tags.stdout.split('\n').find((t) => t.trim() !== '') ?? 'HEAD';
    why = chosen === 'HEAD' ? ` (no ${RELEASE_TAG_PATTERN} tag)` : ' (latest release tag)';
  }
  const verify = await git('rev-parse', '--verify', '--quiet', `${chosen}^{commit}`);
  if (verify.code !== 0) {
    throw new CompatError(
      `git ref ${JSON.stringify(chosen)} not found in ${packageDir}` +
        (verify.stderr.trim() ? `: ${firstLine(verify)}` : ''),
    );
  }
  // Paths are relative to the package folder, so this works wherever the repository keeps it.
  const listing = await git('ls-tree', '-z', '--name-only', chosen, '--', 'events/');
  if (listing.code !== 0) throw new CompatError(`git ls-tree failed: ${firstLine(listing)}`);
  const paths = listing.stdout.split('\0').filter((p) => p.endsWith('.json'));
  const sources = [];
  for (const path of paths) {
    const show = await git('show', `${chosen}:./${path}`);
    if (show.code !== 0)
      throw new CompatError(`git show ${chosen}:${path} failed: ${firstLine(show)}`);
    sources.push({ file: path.slice(path.lastIndexOf('/') + 1), text: show.stdout });
  }
  const description = `git ${chosen}${why}`;
  return { description, schemas: parseSchemaSet(sources, `${chosen}:events`) };
}
