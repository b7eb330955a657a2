import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

let validator: ValidateFunction | undefined;

/**
 * The Compose Specification's JSON Schema (compose-spec/compose-spec, `compose-spec.json`) as
 * the dclint package ships and updates it; dclint's package exports do not include the schema
 * file, so it is read next to its package.json.
 */
export function composeSchemaFile(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
}

/** Validates a parsed Compose file against the Compose Specification; returns the problems. */
export function validateCompose(document: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(readFileSync(composeSchemaFile(), 'utf8')) as Record<string, unknown>;
    // It names draft-07 as `https://json-schema.org/draft-07/schema`, an id Ajv does not register
    // (Ajv's is `http://…/schema#`); draft-07 is Ajv's default, so the reference is dropped.
    if (schema.$schema !== 'https://json-schema.org/draft-07/schema') {
      throw new Error(`unexpected $schema ${String(schema.$schema)} in ${composeSchemaFile()}`);
    }
    delete schema.$schema;
    // strict: false: the schema uses annotation keywords (e.g. `deprecated`) Ajv does not know.
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (validator(document)) return [];
  return (validator.errors ?? []).map(
    (e) =>
      `${e.instancePath || '(root)'} ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}
