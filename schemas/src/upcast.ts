import type { EventDataMap, EventVersionDataMap } from './generated/registry.js';
import { SchemaError, SchemaErrorCode } from './errors.js';
import { assertValidEvent, getEventDefinition, type EventType } from './validate.js';

/** Turns data of `type` at version n into version n + 1. */
export type Upcaster = (data: never) => unknown;

/** Upcasters by type, keyed by the version they read (`1` turns v1 into v2). */
export type UpcasterMap = Partial<Record<EventType, Record<number, Upcaster>>>;

/** The upcasters this package ships: one per breaking change of a type. */
export const builtInUpcasters = {
  'com.jetbox.match.cancelled': {
    1: (data: EventVersionDataMap['com.jetbox.match.cancelled'][1]) =>
      ({
        matchId: data.matchId,
        userIds: [],
        reason: { code: 'other', note: data.reason },
      }) satisfies EventVersionDataMap['com.jetbox.match.cancelled'][2],
  },
} satisfies UpcasterMap;

/**
 * Brings data of `type` at `version` to the latest version, validating the input against its
 * own version and the result against the latest, so a faulty upcaster fails loudly.
 */
export function upcastEvent<T extends EventType>(
  type: T,
  version: number,
  data: unknown,
  upcasters: UpcasterMap = builtInUpcasters,
): EventDataMap[T] {
  const def = getEventDefinition(type);
  let current = assertValidEvent(type, data, version);
  for (let v = version; v < def.latest; v++) {
    const step = upcasters[type]?.[v];
    if (!step) {
      throw new SchemaError(
        SchemaErrorCode.MissingUpcaster,
        `no upcaster from ${type} v${v} to v${v + 1}`,
      );
    }
    current = assertValidEvent(type, step(current as never), v + 1);
  }
  return current;
}
