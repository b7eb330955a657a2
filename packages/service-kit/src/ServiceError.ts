/** One offending field of a request: a dotted path (`interests.1`, `(body)`) and what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Base of every error a service means to answer with: `errorMiddleware` turns it into
 * `application/problem+json` with its `status`, `title` and a type derived from its stable `code`.
 * Services subclass it with their own code map.
 */
export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';

  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    message: string,
    readonly errors: FieldError[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}
