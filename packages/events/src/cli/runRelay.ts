import { connectNats } from '../jetstream/connectNats.js';
import { natsOptionsFromEnv } from '../jetstream/natsOptions.js';
import { createLogger } from '../logger.js';
import { createRelay } from '../relay/createRelay.js';
import type { CliEnv } from './cliConfig.js';

export interface RunRelayFlags {
  batchSize?: number;
  pollInterval?: number;
  maxAttempts?: number;
}

/** `jetbox relay`: a standalone relay until SIGINT/SIGTERM, then a graceful stop. */
export async function runRelay(env: CliEnv, flags: RunRelayFlags): Promise<void> {
  const log = createLogger('jetbox-relay');
  const nc = await connectNats({
    ...natsOptionsFromEnv(process.env),
    servers: env.natsUrl.split(','),
    name: 'jetbox-relay',
  });
  const relay = createRelay({
    databaseUrl: env.databaseUrl,
    nats: nc,
    stream: env.stream,
    partitions: env.partitions,
    ...(flags.batchSize ? { batchSize: flags.batchSize } : {}),
    ...(flags.pollInterval ? { pollIntervalMs: flags.pollInterval } : {}),
    ...(flags.maxAttempts ? { maxAttempts: flags.maxAttempts } : {}),
  });
  relay.events.on('relay:started', (s) => log.info(s, 'relay started'));
  relay.events.on('relay:partitions', (p) => log.info(p, 'partitions assigned'));
  relay.events.on('relay:error', ({ error, phase }) =>
    log.warn({ err: error, phase }, 'relay error'),
  );
  relay.events.on('relay:publishFailed', (f) => log.warn(f, 'publish failed'));
  await relay.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping');
  await relay.stop();
  await nc.drain();
}
