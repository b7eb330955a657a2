export {
  DEFAULT_CONSOLE_DLQ_LIMIT,
  DEFAULT_CONSOLE_HOST,
  DEFAULT_CONSOLE_PORT,
  DEFAULT_CONSOLE_REFRESH_MS,
  DEFAULT_CONSOLE_SAMPLE_HISTORY,
  DEFAULT_CONSOLE_SAMPLE_INTERVAL_MS,
  MAX_CONSOLE_DLQ_LIMIT,
  resolveConsoleOptions,
} from './consoleOptions.js';
export { ConsoleError, ConsoleErrorCode, isConsoleError } from './ConsoleError.js';
export { createConsoleApp } from './createConsoleApp.js';
export { PROBLEM_JSON } from './problemMiddleware.js';

export type { ConsoleLog, ConsoleOptions, ConsoleOptionsInput } from './consoleOptions.js';
export type { ConsoleApp } from './createConsoleApp.js';
export type { OutboxSample } from './createOutboxSampler.js';
export type { ConsoleProblem } from './problemMiddleware.js';
