import { compareSchema } from './compareSchema.js';
import { CompatRule, type CompatFinding, type SchemaEntry, type SchemaSet } from './findings.js';

const key = (e: Pick<SchemaEntry, 'type' | 'version'>) => `${e.type} v${e.version}`;

/**
 * Compares every type and version of `previous` (the last published schemas) with `current`.
 * A version that exists in both must still accept everything it accepted and still promise
 * everything it promised; breaking changes belong in a new version file, which is reported
 * but never breaking itself.
 */
export function compareSchemaSets(previous: SchemaSet, current: SchemaSet): CompatFinding[] {
  const findings: CompatFinding[] = [];
  const currentByKey = new Map(current.map((e) => [key(e), e]));
  const previousByKey = new Map(previous.map((e) => [key(e), e]));
  const previousTypes = new Set(previous.map((e) => e.type));
  const currentTypes = new Set(current.map((e) => e.type));

  for (const before of sorted(previous)) {
    const after = currentByKey.get(key(before));
    const at = { type: before.type, version: before.version, path: '$' };
    if (!after) {
      const whole = currentTypes.has(before.type) ? '' : ` (the whole type ${before.type} is gone)`;
      findings.push({
        ...at,
        breaking: true,
        rule: CompatRule.VersionRemoved,
        message: `version ${before.version} was removed (${before.file})${whole}: events of this version can still be in a stream, and consumers need its schema to validate and upcast them`,
      });
      continue;
    }
    if (before.schema.$id !== after.schema.$id) {
      findings.push({
        ...at,
        breaking: true,
        rule: CompatRule.IdChanged,
        message: `$id changed from ${JSON.stringify(before.schema.$id)} to ${JSON.stringify(after.schema.$id)}: the $id is the dataschema of events already published`,
      });
    }
    findings.push(
      ...compareSchema(before.schema, after.schema).map((f) => ({
        ...f,
        type: before.type,
        version: before.version,
      })),
    );
  }

  for (const after of sorted(current)) {
    if (previousByKey.has(key(after))) continue;
    const at = { type: after.type, version: after.version, path: '$', breaking: false };
    findings.push(
      previousTypes.has(after.type)
        ? {
            ...at,
            rule: CompatRule.VersionAdded,
            message: `new version ${after.version} (${after.file}); make sure an upcaster brings version ${after.version - 1} to it`,
          }
        : { ...at, rule: CompatRule.TypeAdded, message: `new event type (${after.file})` },
    );
  }
  return findings;
}

function sorted(set: SchemaSet): SchemaEntry[] {
  return [...set].sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version);
}
