import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One schema file: a CloudEvent type at one version. */
export interface SchemaFile {
  type: string;
  version: number;
  file: string;
  schema: Record<string, unknown> & { $id: string; title?: string };
}

const FILE_NAME =
  /^(?<type>[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*){3,})\.v(?<version>[1-9][0-9]*)\.schema\.json$/;
const TYPE_PREFIX = 'com.jetbox.';

/** `<type>.v<version>.schema.json` → `{ type, version }`; `null` for any other name. */
export function parseSchemaFileName(file: string): { type: string; version: number } | null {
  const m = FILE_NAME.exec(file);
  if (!m?.groups) return null;
  return { type: m.groups.type!, version: Number(m.groups.version) };
}

/** The `$id` a schema must carry; it is also the CloudEvent `dataschema`. */
export function schemaId(type: string, version: number): string {
  return `urn:jetbox:schema:${type}:v${version}`;
}

/** `com.jetbox.match.created` → `match.created`, the subject segment after `events.`. */
export function subjectSegment(type: string): string {
  if (!type.startsWith(TYPE_PREFIX))
    throw new Error(`event type ${type} must start with ${TYPE_PREFIX}`);
  const rest = type.slice(TYPE_PREFIX.length).split('.');
  if (rest.length !== 2) {
    throw new Error(`event type ${type} must be ${TYPE_PREFIX}<domain>.<event>`);
  }
  return rest.join('.');
}

/**
 * Reads every `<type>.v<version>.schema.json` in a folder and checks the file name against
 * the schema's `$id`, so a copied file with a stale id fails here and not in production.
 */
export async function loadSchemas(dir: string): Promise<SchemaFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const out: SchemaFile[] = [];
  for (const file of names) {
    const parsed = parseSchemaFileName(file);
    if (!parsed) {
      throw new Error(`${file}: schema files are named <cloudevent type>.v<version>.schema.json`);
    }
    const { type, version } = parsed;
    subjectSegment(type);
    let schema: SchemaFile['schema'];
    try {
      schema = JSON.parse(await readFile(join(dir, file), 'utf8')) as SchemaFile['schema'];
    } catch (err) {
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    const expected = schemaId(type, version);
    if (schema.$id !== expected) {
      throw new Error(
        `${file}: $id is ${JSON.stringify(schema.$id)}, expected ${JSON.stringify(expected)}`,
      );
    }
    if (schema.type !== 'object') throw new Error(`${file}: event data must be "type": "object"`);
    out.push({ type, version, file, schema });
  }
  const byType = new Map<string, number[]>();
  for (const s of out) byType.set(s.type, [...(byType.get(s.type) ?? []), s.version]);
  for (const [type, versions] of byType) {
    versions.sort((a, b) => a - b);
    versions.forEach((v, i) => {
      if (v !== i + 1)
        throw new Error(
          `${type}: versions must be 1..n without gaps, found ${versions.join(', ')}`,
        );
    });
  }
  return out;
}
