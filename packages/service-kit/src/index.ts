export { applyServiceStreams } from './applyServiceStreams.js';
export { ConfigError } from './ConfigError.js';
export { envReader } from './envReader.js';
export { listen, DEFAULT_CLOSE_TIMEOUT_MS } from './listen.js';
export { checkReadiness, READINESS_TIMEOUT_MS } from './checkReadiness.js';
export { errorMiddleware, PROBLEM_JSON } from './errorMiddleware.js';
export { httpMetrics } from './httpMetrics.js';
export { opsRoutes } from './opsRoutes.js';
export { readJetboxEnv } from './readJetboxEnv.js';
export { ServiceError, isServiceError } from './ServiceError.js';

export type { EnvReader } from './envReader.js';
export type { Listening } from './listen.js';
export type { Readiness } from './checkReadiness.js';
export type { ErrorLog, Problem } from './errorMiddleware.js';
export type { OpsDeps } from './opsRoutes.js';
export type { JetboxEnv } from './readJetboxEnv.js';
export type { FieldError } from './ServiceError.js';
