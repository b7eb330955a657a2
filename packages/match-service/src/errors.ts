import { ServiceError, type FieldError } from '@jetbox/service-kit';

/** Stable codes of match-service's errors; each maps to one HTTP status. */
export const MatchServiceErrorCode = {
  NotFound: 'NOT_FOUND',
  InvalidBody: 'INVALID_BODY',
  MalformedJson: 'MALFORMED_JSON',
  BodyTooLarge: 'BODY_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  InvalidQuery: 'INVALID_QUERY',
  AlreadyCancelled: 'ALREADY_CANCELLED',
  AlreadyMatched: 'ALREADY_MATCHED',
} as const;
export type MatchServiceErrorCode =
  (typeof MatchServiceErrorCode)[keyof typeof MatchServiceErrorCode];

const STATUS: Record<MatchServiceErrorCode, number> = {
  NOT_FOUND: 404,
  INVALID_BODY: 400,
  MALFORMED_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_QUERY: 400,
  ALREADY_CANCELLED: 409,
  ALREADY_MATCHED: 409,
};

const TITLE: Record<MatchServiceErrorCode, string> = {
  NOT_FOUND: 'Not found',
  INVALID_BODY: 'Invalid request body',
  MALFORMED_JSON: 'Malformed JSON',
  BODY_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  INVALID_QUERY: 'Invalid query parameters',
  ALREADY_CANCELLED: 'Match already cancelled',
  ALREADY_MATCHED: 'User already matched',
};

/** An error the HTTP layer turns into `application/problem+json` with its code's status. */
export class MatchServiceError extends ServiceError {
  override readonly name = 'MatchServiceError';
  declare readonly code: MatchServiceErrorCode;

  constructor(
    code: MatchServiceErrorCode,
    message: string,
    errors: FieldError[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, STATUS[code], TITLE[code], message, errors, options);
  }

  static notFound(what: string, id: string): MatchServiceError {
    return new MatchServiceError(MatchServiceErrorCode.NotFound, `${what} ${id} does not exist`);
  }
}

export function isMatchServiceError(
  err: unknown,
  code?: MatchServiceErrorCode,
): err is MatchServiceError {
  return err instanceof MatchServiceError && (code === undefined || err.code === code);
}
