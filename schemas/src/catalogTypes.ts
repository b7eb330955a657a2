/** A compiled validator, as ajv's standalone code exports it. */
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: ValidationErrorObject[] | null;
}

/** One ajv error, reduced to what jetbox reports. */
export interface ValidationErrorObject {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** One version of one CloudEvent type. */
export interface EventVersionDefinition {
  readonly version: number;
  /** The schema's `$id`, used as the CloudEvent `dataschema`. */
  readonly $id: string;
  readonly schema: object;
  readonly validate: ValidateFunction;
}

/** A CloudEvent type with all its versions. */
export interface EventDefinition {
  readonly type: string;
  /** Subject segment after `events.`, e.g. `match.created`. */
  readonly subject: string;
  readonly latest: number;
  readonly versions: Readonly<Record<number, EventVersionDefinition>>;
}

export type EventCatalog = Readonly<Record<string, EventDefinition>>;
