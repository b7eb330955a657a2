import { ServiceError, type FieldError } from '@jetbox/service-kit';

/** Stable codes of notifier's HTTP errors; each maps to one status. */
export const NotifierErrorCode = {
  NotFound: 'NOT_FOUND',
  InvalidQuery: 'INVALID_QUERY',
} as const;
export type NotifierErrorCode = (typeof NotifierErrorCode)[keyof typeof NotifierErrorCode];

const STATUS: Record<NotifierErrorCode, number> = { NOT_FOUND: 404, INVALID_QUERY: 400 };
const TITLE: Record<NotifierErrorCode, string> = {
  NOT_FOUND: 'Not found',
  INVALID_QUERY: 'Invalid query parameters',
};

/** An error the HTTP layer turns into `application/problem+json` with its code's status. */
export class NotifierError extends ServiceError {
  override readonly name = 'NotifierError';
  declare readonly code: NotifierErrorCode;

  constructor(code: NotifierErrorCode, message: string, errors: FieldError[] = []) {
    super(code, STATUS[code], TITLE[code], message, errors);
  }
}
