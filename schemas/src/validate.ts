import { eventCatalog, type EventDataMap } from './generated/registry.js';
import type {
  EventDefinition,
  EventVersionDefinition,
  ValidationErrorObject,
} from './catalogTypes.js';
import { SchemaError, SchemaErrorCode, type ValidationIssue } from './errors.js';

/** A CloudEvent type known to this package. */
export type EventType = keyof EventDataMap;

export type ValidationResult<T> = { ok: true; data: T } | { ok: false; issues: ValidationIssue[] };

export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.hasOwn(eventCatalog, type);
}

/** The definition of a type; throws `UNKNOWN_EVENT_TYPE` for anything else. */
export function getEventDefinition(type: string): EventDefinition {
  if (!isEventType(type)) throw SchemaError.unknownType(type);
  return eventCatalog[type];
}

/** One version of a type, the latest when `version` is omitted. */
export function getEventVersion(type: string, version?: number): EventVersionDefinition {
  const def = getEventDefinition(type);
  const v = version ?? def.latest;
  const found = def.versions[v];
  if (!found) throw SchemaError.unknownVersion(type, version);
  return found;
}

/** `urn:jetbox:schema:<type>:v<n>` → `{ type, version }`. */
export function parseDataschema(dataschema: string): { type: string; version: number } {
  const m = /^urn:jetbox:schema:(?<type>[a-z0-9.]+):v(?<version>[1-9][0-9]*)$/.exec(dataschema);
  if (!m?.groups) {
    throw new SchemaError(
      SchemaErrorCode.InvalidDataschema,
      `dataschema ${JSON.stringify(dataschema)} is not urn:jetbox:schema:<type>:v<version>`,
    );
  }
  return { type: m.groups.type!, version: Number(m.groups.version) };
}

/** The `dataschema` (schema `$id`) of a type at a version, the latest by default. */
export function dataschemaOf(type: EventType, version?: number): string {
  return getEventVersion(type, version).$id;
}

function describe(e: ValidationErrorObject): ValidationIssue {
  const path = e.instancePath === '' ? '(root)' : e.instancePath;
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return { path: `${e.instancePath}/${String(p.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${e.instancePath}/${String(p.additionalProperty)}`,
        message: 'is not allowed',
      };
    case 'enum':
      return { path, message: `must be one of ${JSON.stringify(p.allowedValues)}` };
    default:
      return { path, message: e.message ?? `fails ${e.keyword}` };
  }
}

/**
 * Validates event data against a type's schema (latest version by default) and fills in
 * defaults. Never throws for bad data; an unknown type or version does throw.
 */
export function validateEvent<T extends EventType>(
  type: T,
  data: unknown,
  version?: number,
): ValidationResult<EventDataMap[T]>;
export function validateEvent(
  type: string,
  data: unknown,
  version?: number,
): ValidationResult<unknown>;
export function validateEvent(
  type: string,
  data: unknown,
  version?: number,
): ValidationResult<unknown> {
  const def = getEventVersion(type, version);
  if (def.validate(data)) return { ok: true, data };
  return { ok: false, issues: (def.validate.errors ?? []).map(describe) };
}

/** Like `validateEvent`, but throws a `SchemaError` naming every wrong field. */
export function assertValidEvent<T extends EventType>(
  type: T,
  data: unknown,
  version?: number,
): EventDataMap[T];
export function assertValidEvent(type: string, data: unknown, version?: number): unknown;
export function assertValidEvent(type: string, data: unknown, version?: number): unknown {
  const result = validateEvent(type, data, version);
  if (!result.ok)
    throw SchemaError.invalidData(type, version ?? getEventDefinition(type).latest, result.issues);
  return result.data;
}
