export { createTestDatabase, uniqueName } from './testDatabase.js';
export { connectTestNats, deleteStreams, testNatsUrl, uniqueStreamName } from './testNats.js';
export { startNatsCluster, startNatsServer } from './natsServer.js';
export { spawnService } from './spawnService.js';
export { waitFor } from './waitFor.js';

export type { TestDatabase } from './testDatabase.js';
export type {
  NatsClusterHandle,
  NatsClusterOptions,
  NatsServerHandle,
  NatsServerOptions,
} from './natsServer.js';
export type { ServiceProcess, SpawnServiceOptions } from './spawnService.js';
