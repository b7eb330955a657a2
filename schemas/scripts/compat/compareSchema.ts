import { isDeepStrictEqual } from 'node:util';
import { CompatRule, type CompatFinding, type JsonSchema } from './findings.js';

export type SchemaFinding = Omit<CompatFinding, 'type' | 'version'>;
type Schema = { readonly [keyword: string]: unknown };

/** Keywords that document a schema without changing what it accepts. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'examples',
  '$comment',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
/** A bound that rejects more data when it goes down (or appears). */
const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
/** A bound that rejects more data when it goes up (or appears). */
const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
/** Keywords where any new or different value rejects data that passed before. */
const EXACT = ['pattern', 'format', 'const', 'multipleOf'];
const HANDLED = new Set([
  'type',
  'enum',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'uniqueItems',
  ...UPPER_BOUNDS,
  ...LOWER_BOUNDS,
  ...EXACT,
]);

/**
 * Compares one schema (and, recursively, its object properties and array items) before and
 * after an edit. A change is breaking when data valid before may be invalid now, or when a
 * consumer written against the old schema may receive data it was promised it would not get
 * (a missing field, a field that is no longer required). Keywords this check does not model
 * (`anyOf`, `$ref`, ...) count as breaking whenever they change, because it cannot prove
 * otherwise.
 */
export function compareSchema(before: JsonSchema, after: JsonSchema, path = '$'): SchemaFinding[] {
  const out: SchemaFinding[] = [];
  const breaking = (rule: CompatFinding['rule'], message: string, at = path) =>
    out.push({ breaking: true, rule, path: at, message });
  const compatible = (rule: CompatFinding['rule'], message: string, at = path) =>
    out.push({ breaking: false, rule, path: at, message });

  if (after === false || before === false) {
    if (before === after) return out;
    if (after === false) breaking(CompatRule.ConstraintNarrowed, 'now rejects every value');
    else compatible(CompatRule.ConstraintWidened, 'no longer rejects every value');
    return out;
  }
  // `true` accepts anything, exactly like `{}`; comparing objects then says what changed.
  if (before === true) before = {};
  if (after === true) after = {};

  const typesBefore = typeSet(before);
  const typesAfter = typeSet(after);
  if (!sameSet(typesBefore, typesAfter)) {
    breaking(
      CompatRule.TypeChanged,
      `type changed from ${describeTypes(typesBefore)} to ${describeTypes(typesAfter)}`,
    );
    // Everything below describes a value of the old type; comparing it would only add noise.
    return out;
  }

  compareEnum(before, after, breaking, compatible);
  compareBounds(before, after, breaking, compatible);
  compareProperties(before, after, path, out);
  compareItems(before, after, path, out);
  compareAdditionalProperties(before, after, path, out);

  const keywords = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const keyword of keywords) {
    if (HANDLED.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    // The root `$id` is the dataschema and compared per version by compareSchemaSets.
    if (keyword === '$id' && path === '$') continue;
    if (!isDeepStrictEqual(before[keyword], after[keyword])) {
      breaking(
        CompatRule.UnsupportedChange,
        `"${keyword}" changed; this check cannot tell whether that is compatible, so it counts as breaking`,
      );
    }
  }
  return out;
}

type Report = (rule: CompatFinding['rule'], message: string, at?: string) => void;

function compareEnum(before: Schema, after: Schema, breaking: Report, compatible: Report): void {
  const was = Array.isArray(before.enum) ? (before.enum as unknown[]) : undefined;
  const now = Array.isArray(after.enum) ? (after.enum as unknown[]) : undefined;
  if (!was && !now) return;
  if (!was) {
    breaking(CompatRule.EnumNarrowed, `now restricted to ${JSON.stringify(now)}`);
    return;
  }
  if (!now) {
    compatible(CompatRule.EnumWidened, `no longer restricted to ${JSON.stringify(was)}`);
    return;
  }
  const removed = was.filter((v) => !now.some((w) => isDeepStrictEqual(v, w)));
  const added = now.filter((v) => !was.some((w) => isDeepStrictEqual(v, w)));
  if (removed.length > 0) {
    breaking(
      CompatRule.EnumNarrowed,
      `enum value${removed.length > 1 ? 's' : ''} ${list(removed)} removed: events carrying ${removed.length > 1 ? 'them' : 'it'} no longer validate`,
    );
  }
  if (added.length > 0) {
    compatible(
      CompatRule.EnumWidened,
      `enum value${added.length > 1 ? 's' : ''} ${list(added)} added`,
    );
  }
}

function compareBounds(before: Schema, after: Schema, breaking: Report, compatible: Report): void {
  for (const keyword of [...UPPER_BOUNDS, ...LOWER_BOUNDS]) {
    const was = before[keyword];
    const now = after[keyword];
    if (was === now) continue;
    const upper = UPPER_BOUNDS.includes(keyword);
    const tighter =
      now !== undefined &&
      (was === undefined || (upper ? Number(now) < Number(was) : Number(now) > Number(was)));
    const change =
      was === undefined
        ? `${keyword} ${JSON.stringify(now)} added`
        : now === undefined
          ? `${keyword} ${JSON.stringify(was)} removed`
          : `${keyword} changed from ${JSON.stringify(was)} to ${JSON.stringify(now)}`;
    if (tighter) breaking(CompatRule.ConstraintNarrowed, `${change}: rejects data it accepted`);
    else compatible(CompatRule.ConstraintWidened, change);
  }
  for (const keyword of EXACT) {
    const was = before[keyword];
    const now = after[keyword];
    if (isDeepStrictEqual(was, now)) continue;
    if (now === undefined)
      compatible(CompatRule.ConstraintWidened, `${keyword} ${JSON.stringify(was)} removed`);
    else
      breaking(
        CompatRule.ConstraintNarrowed,
        `${keyword} ${was === undefined ? 'added' : `changed from ${JSON.stringify(was)}`} to ${JSON.stringify(now)}: rejects data it accepted`,
      );
  }
  if (before.uniqueItems !== true && after.uniqueItems === true)
    breaking(CompatRule.ConstraintNarrowed, 'uniqueItems added: rejects data it accepted');
  else if (before.uniqueItems === true && after.uniqueItems !== true)
    compatible(CompatRule.ConstraintWidened, 'uniqueItems removed');
}

function compareProperties(
  before: Schema,
  after: Schema,
  path: string,
  out: SchemaFinding[],
): void {
  const was = properties(before);
  const now = properties(after);
  const requiredBefore = required(before);
  const requiredAfter = required(after);
  const removed = Object.keys(was).filter((k) => !Object.hasOwn(now, k));
  const added = Object.keys(now).filter((k) => !Object.hasOwn(was, k));

  for (const name of removed) {
    const renamed =
      added.length > 0 ? ` (renamed to ${list(added, ' or ')}? a rename is a removal too)` : '';
    out.push({
      breaking: true,
      rule: CompatRule.FieldRemoved,
      path: join(path, name),
      message: `field "${name}" was removed${renamed}: consumers reading it would get undefined`,
    });
  }
  for (const name of Object.keys(was)) {
    if (Object.hasOwn(now, name))
      out.push(
        ...compareSchema(was[name] as JsonSchema, now[name] as JsonSchema, join(path, name)),
      );
  }
  for (const name of new Set([...Object.keys(now), ...requiredAfter])) {
    const isNew = !Object.hasOwn(was, name);
    const becameRequired = requiredAfter.has(name) && !requiredBefore.has(name);
    const schema = now[name];
    const hasDefault = typeof schema === 'object' && schema !== null && 'default' in schema;
    if (becameRequired && !hasDefault) {
      out.push({
        breaking: true,
        rule: CompatRule.RequiredWithoutDefault,
        path: join(path, name),
        message: `${isNew ? 'new field' : 'field'} "${name}" ${isNew ? 'is' : 'became'} required without a default: events published without it no longer validate`,
      });
    } else if (isNew && Object.hasOwn(now, name)) {
      out.push({
        breaking: false,
        rule: CompatRule.FieldAdded,
        path: join(path, name),
        message: `new ${becameRequired ? 'required field with a default' : 'optional field'} "${name}"`,
      });
    }
  }
  for (const name of requiredBefore) {
    if (requiredAfter.has(name) || !Object.hasOwn(now, name)) continue;
    out.push({
      breaking: true,
      rule: CompatRule.FieldMadeOptional,
      path: join(path, name),
      message: `field "${name}" is no longer required: consumers of this version rely on it being present`,
    });
  }
}

function compareItems(before: Schema, after: Schema, path: string, out: SchemaFinding[]): void {
  const was = before.items as JsonSchema | JsonSchema[] | undefined;
  const now = after.items as JsonSchema | JsonSchema[] | undefined;
  if (was === undefined && now === undefined) return;
  const at = `${path}[*]`;
  if (was === undefined) {
    if (!Array.isArray(now)) out.push(...compareSchema(true, now!, at));
    else
      out.push({
        breaking: true,
        rule: CompatRule.ConstraintNarrowed,
        path: at,
        message: 'items are constrained now: rejects data it accepted',
      });
  } else if (now === undefined) {
    if (!Array.isArray(was)) out.push(...compareSchema(was, true, at));
    else
      out.push({
        breaking: false,
        rule: CompatRule.ConstraintWidened,
        path: at,
        message: 'items no longer constrained',
      });
  } else if (Array.isArray(was) && Array.isArray(now) && was.length === now.length) {
    was.forEach((item, i) => out.push(...compareSchema(item, now[i]!, `${path}[${i}]`)));
  } else if (!Array.isArray(was) && !Array.isArray(now)) {
    out.push(...compareSchema(was, now, at));
  } else if (!isDeepStrictEqual(was, now)) {
    out.push({
      breaking: true,
      rule: CompatRule.UnsupportedChange,
      path,
      message:
        '"items" changed shape (tuple or length); this check cannot tell whether that is compatible, so it counts as breaking',
    });
  }
}

function compareAdditionalProperties(
  before: Schema,
  after: Schema,
  path: string,
  out: SchemaFinding[],
): void {
  const was = (before.additionalProperties ?? true) as JsonSchema;
  const now = (after.additionalProperties ?? true) as JsonSchema;
  if (isDeepStrictEqual(was, now)) return;
  if (now === false) {
    out.push({
      breaking: true,
      rule: CompatRule.ConstraintNarrowed,
      path,
      message:
        'additionalProperties: false added: unknown fields, which it accepted, are rejected now',
    });
    return;
  }
  out.push(...compareSchema(was, now, `${path}.*`));
}

function typeSet(schema: Schema): Set<string> | null {
  const t = schema.type;
  if (t === undefined) return null;
  return new Set(Array.isArray(t) ? (t as string[]) : [t as string]);
}

function sameSet(a: Set<string> | null, b: Set<string> | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function describeTypes(types: Set<string> | null): string {
  return types === null ? 'any' : [...types].map((t) => JSON.stringify(t)).join(' | ');
}

function properties(schema: Schema): Record<string, unknown> {
  const p = schema.properties;
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
}

function required(schema: Schema): Set<string> {
  return new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
}

function join(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

function list(values: unknown[], separator = ', '): string {
  return values.map((v) => JSON.stringify(v)).join(separator);
}
