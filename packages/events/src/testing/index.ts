export { createTestDatabase, uniqueName } from './testDatabase.js';
export { connectTestNats, deleteStreams, testNatsUrl, uniqueStreamName } from './testNats.js';

export type { TestDatabase } from './testDatabase.js';
