export { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from './config.js';
export { JetboxError, JetboxErrorCode, isJetboxError } from './errors.js';
