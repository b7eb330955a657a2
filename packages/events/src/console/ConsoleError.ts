/** Stable codes of the console's HTTP errors; each becomes the problem's `type`. */
export const ConsoleErrorCode = {
  InvalidParameter: 'INVALID_PARAMETER',
  Unauthorized: 'UNAUTHORIZED',
  ReadOnly: 'READ_ONLY',
  NotFound: 'NOT_FOUND',
  Misdirected: 'MISDIRECTED',
} as const;
export type ConsoleErrorCode = (typeof ConsoleErrorCode)[keyof typeof ConsoleErrorCode];

/** An error the console answers with `application/problem+json` and its `status`. */
export class ConsoleError extends Error {
  override name = 'ConsoleError';

  constructor(
    readonly code: ConsoleErrorCode,
    readonly status: number,
    readonly title: string,
    message: string,
    /** The request parameter at fault, when there is one. */
    readonly parameter?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  static invalidParameter(parameter: string, problem: string): ConsoleError {
    return new ConsoleError(
      ConsoleErrorCode.InvalidParameter,
      400,
      'Invalid parameter',
      `${parameter} ${problem}`,
      parameter,
    );
  }

  /** No token, or the wrong one: a 401 with a `WWW-Authenticate` challenge. */
  static unauthorized(problem: string): ConsoleError {
    return new ConsoleError(ConsoleErrorCode.Unauthorized, 401, 'Unauthorized', problem);
  }

  static readOnly(): ConsoleError {
    return new ConsoleError(
      ConsoleErrorCode.ReadOnly,
      403,
      'Console is read-only',
      'this console was started without JETBOX_CONSOLE_TOKEN, so admin actions are disabled',
    );
  }

  static notFound(what: string): ConsoleError {
    return new ConsoleError(ConsoleErrorCode.NotFound, 404, 'Not found', what);
  }
}

export function isConsoleError(err: unknown, code?: ConsoleErrorCode): err is ConsoleError {
  return err instanceof ConsoleError && (code === undefined || err.code === code);
}
