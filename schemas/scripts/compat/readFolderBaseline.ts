import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Baseline } from './baseline.js';
import { readSchemaDir } from './readSchemaSet.js';

/** A package folder (its `events/` is used) or a folder of schema files. */
export async function readFolderBaseline(dir: string, description = dir): Promise<Baseline> {
  const events = join(dir, 'events');
  const hasEvents = await stat(events).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return { description, schemas: await readSchemaDir(hasEvents ? events : dir) };
}
