import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/**
 * Every document of a YAML file as plain data. Fails on any parse error or warning, so a
 * manifest that YAML tools would read differently never passes. `merge` resolves `<<` keys,
 * which Compose supports (and kustomize expands).
 */
export function loadYamlDocuments(file: string, options: { merge?: boolean } = {}): unknown[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file, options);
}

/** {@link loadYamlDocuments} for text already read; `source` names it in errors. */
export function parseYamlDocuments(
  text: string,
  source: string,
  options: { merge?: boolean } = {},
): unknown[] {
  const docs = parseAllDocuments(text, { merge: options.merge ?? false, prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${source}: not a YAML stream`);
  const out: unknown[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    // A trailing `---` or a file of comments yields an empty document: not a resource.
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}
