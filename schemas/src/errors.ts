export const SchemaErrorCode = {
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  UnknownVersion: 'UNKNOWN_EVENT_VERSION',
  InvalidData: 'INVALID_EVENT_DATA',
  InvalidDataschema: 'INVALID_DATASCHEMA',
  MissingUpcaster: 'MISSING_UPCASTER',
} as const;
export type SchemaErrorCode = (typeof SchemaErrorCode)[keyof typeof SchemaErrorCode];

/** A field that failed validation: where (JSON pointer) and why. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Thrown for anything that does not match the event contracts of this package. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  readonly code: SchemaErrorCode;
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: SchemaErrorCode,
    message: string,
    issues: readonly ValidationIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.issues = issues;
  }

  static unknownType(type: unknown): SchemaError {
    return new SchemaError(
      SchemaErrorCode.UnknownEventType,
      `unknown CloudEvent type ${JSON.stringify(type)}`,
    );
  }

  static unknownVersion(type: string, version: unknown): SchemaError {
    return new SchemaError(
      SchemaErrorCode.UnknownVersion,
      `${type} has no version ${JSON.stringify(version)}`,
    );
  }

  static invalidData(
    type: string,
    version: number,
    issues: readonly ValidationIssue[],
  ): SchemaError {
    const detail = issues.map((i) => `${i.path} ${i.message}`).join('; ');
    return new SchemaError(
      SchemaErrorCode.InvalidData,
      `invalid data for ${type} v${version}: ${detail}`,
      issues,
    );
  }
}

export function isSchemaError(err: unknown): err is SchemaError {
  return err instanceof SchemaError;
}
