import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSchemaFileName } from '../loadSchemas.js';
import { CompatError } from './CompatError.js';
import type { SchemaEntry, SchemaSet } from './findings.js';

export interface SchemaSource {
  file: string;
  text: string;
}

/**
 * Parses schema files without codegen's consistency rules (a `$id` matching the file name,
 * versions without gaps): the compat check must be able to report exactly those mistakes as
 * findings against a baseline instead of refusing to look.
 */
export function parseSchemaSet(sources: readonly SchemaSource[], origin: string): SchemaSet {
  const out: SchemaEntry[] = [];
  for (const { file, text } of sources) {
    if (!file.endsWith('.json')) continue;
    const parsed = parseSchemaFileName(file);
    if (!parsed) {
      throw new CompatError(
        `${origin}/${file}: schema files are named <cloudevent type>.v<version>.schema.json`,
      );
    }
    let schema: unknown;
    try {
      schema = JSON.parse(text);
    } catch (err) {
      throw new CompatError(`${origin}/${file}: not valid JSON: ${(err as Error).message}`);
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new CompatError(`${origin}/${file}: a schema file must hold a JSON object`);
    }
    out.push({ ...parsed, file, schema: schema as SchemaEntry['schema'] });
  }
  return out;
}

/** Every schema file in a folder. */
export async function readSchemaDir(dir: string): Promise<SchemaSet> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new CompatError(`${dir} is not a folder`);
  const files = (await readdir(dir)).sort();
  const sources = await Promise.all(
    files.map(async (file) => ({ file, text: await readFile(join(dir, file), 'utf8') })),
  );
  return parseSchemaSet(sources, dir);
}
