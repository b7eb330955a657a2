/**
 * `prepack`: rebuilds dist/ from scratch, so a file whose source was deleted never ships. It
 * builds beside dist/ and swaps the result in, so a process reading dist/ meanwhile (another
 * package's tests, run by turbo in parallel) never finds it missing. The sibling folder keeps
 * the source maps' relative paths identical to a normal build.
 */
import { spawnSync } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const next = join(root, '.dist-next');
const old = join(root, '.dist-old');
const tsc = join(
  dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin',
  'tsc',
);

async function main(): Promise<void> {
  await rm(next, { recursive: true, force: true });
  await rm(old, { recursive: true, force: true });
  try {
    const build = spawnSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.build.json', '--outDir', next],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    if (build.status !== 0) throw new Error(`tsc failed (exit ${build.status ?? build.signal})`);
    await rename(dist, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(next, dist);
  } finally {
    await rm(next, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
  console.log('dist/ rebuilt from scratch');
}

main().catch((err: unknown) => {
  console.error(`prepack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
