import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Baseline } from './baseline.js';
import { CompatError } from './CompatError.js';
import { exec, firstLine } from './exec.js';
import { readFolderBaseline } from './readFolderBaseline.js';

/** A package tarball as `npm pack` writes it (files under `package/`). */
export async function readTarballBaseline(path: string, description = path): Promise<Baseline> {
  const file = resolve(path);
  const isFile = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) throw new CompatError(`tarball ${path} not found`);
  const dir = await mkdtemp(join(tmpdir(), 'jetbox-compat-tarball-'));
  try {
    const untar = await exec('tar', ['-xzf', file, '-C', dir], dir);
    if (untar.code !== 0) throw new CompatError(`cannot unpack ${path}: ${firstLine(untar)}`);
    const events = join(dir, 'package', 'events');
    const hasEvents = await stat(events).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!hasEvents) throw new CompatError(`${path} has no package/events/ folder`);
    return await readFolderBaseline(events, description);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
