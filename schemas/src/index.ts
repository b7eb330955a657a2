export { eventCatalog } from './generated/registry.js';
export { SchemaError, SchemaErrorCode, isSchemaError } from './errors.js';
export {
  assertValidEvent,
  dataschemaOf,
  getEventDefinition,
  getEventVersion,
  isEventType,
  parseDataschema,
  validateEvent,
} from './validate.js';
export { builtInUpcasters, upcastEvent } from './upcast.js';

export type { EventDataMap, EventVersionDataMap } from './generated/registry.js';
export type { MatchCancelledV1, MatchCancelledV2, MatchCreatedV1 } from './generated/types.js';
export type {
  EventCatalog,
  EventDefinition,
  EventVersionDefinition,
  ValidateFunction,
  ValidationErrorObject,
} from './catalogTypes.js';
export type { ValidationIssue } from './errors.js';
export type { EventType, ValidationResult } from './validate.js';
export type { Upcaster, UpcasterMap } from './upcast.js';
