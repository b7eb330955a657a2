import { connectNats, createLogger, createRelay, migrate, type Relay } from '@jetbox/events';
import {
  applyServiceStreams,
  handleShutdownSignals,
  listen,
  setupTracing,
} from '@jetbox/service-kit';
import { MikroORM } from '@mikro-orm/postgresql';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { createMatchOutbox } from './matchOutbox.js';
import { matchOrmOptions } from './ormOptions.js';

// The only entry point: wires configuration, database, NATS, relay and HTTP, and owns shutdown.
const log = createLogger('match-service');
const config = readConfig();
// First, so the spans of everything below (requests, publishes, handlers) can be exported.
const tracing = setupTracing({ serviceName: 'match-service', otlpTracesUrl: config.otlpTracesUrl });

const outbox = createMatchOutbox({
  partitions: config.partitions,
  subjectPrefix: config.subjectPrefix,
});
const orm = await MikroORM.init(matchOrmOptions(config.databaseUrl, outbox));
const applied = await migrate(orm);
log.info({ applied }, 'migrations applied');

const nats = await connectNats({ ...config.nats, name: 'match-service' });
const streams = await applyServiceStreams(nats, config);
log.info({ streams }, 'streams applied');

const registry = new Registry();
let relay: Relay | undefined;
if (config.relayInProcess) {
  relay = createRelay({
    databaseUrl: config.databaseUrl,
    nats,
    outbox,
    stream: config.stream,
    registry,
  });
  relay.events.on('relay:started', (info) => log.info(info, 'relay started'));
  relay.events.on('relay:publishFailed', (info) => log.warn(info, 'relay publish failed'));
  relay.events.on('relay:error', ({ error, phase }) =>
    log.error({ err: error, phase }, 'relay error'),
  );
  await relay.start();
}

const server = await listen(createApp({ orm, nats, registry, log }), config.port);
log.info(
  { url: `http://localhost:${server.port}`, relayInProcess: config.relayInProcess },
  'match-service listening',
);

handleShutdownSignals(log, async () => {
  // Requests first (they write the outbox), then the relay drains, then the connections go.
  await server.close();
  await relay?.stop();
  await nats.drain();
  await orm.close();
  await tracing.shutdown();
});
