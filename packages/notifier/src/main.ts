import { connectNats, createLogger, migrate } from '@jetbox/events';
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
import { createNotifier } from './createNotifier.js';
import { notifierOrmOptions } from './ormOptions.js';

// The only entry point: wires configuration, database, NATS, the consumer and HTTP, and owns shutdown.
const log = createLogger('notifier');
const config = readConfig();
// First, so the spans of everything below (requests, publishes, handlers) can be exported.
const tracing = setupTracing({ serviceName: 'notifier', otlpTracesUrl: config.otlpTracesUrl });

const orm = await MikroORM.init(notifierOrmOptions(config.databaseUrl));
const applied = await migrate(orm);
log.info({ applied }, 'migrations applied');

const nats = await connectNats({ ...config.nats, name: 'notifier' });
// The consumer needs the stream; whichever service starts first declares it.
const streams = await applyServiceStreams(nats, config);
log.info({ streams }, 'streams applied');

const registry = new Registry();
const { consumer } = createNotifier({ orm, nats, registry, logger: log, config });
consumer.events.on('consumer:deadLettered', (e) =>
  log.error({ eventId: e.eventId, reason: e.reason, err: e.error }, 'event dead-lettered'),
);
consumer.events.on('consumer:error', (e) =>
  log.error({ err: e.error, during: e.during }, 'consumer error'),
);
await consumer.start();

const server = await listen(createApp({ orm, nats, registry, log }), config.port);
log.info(
  {
    url: `http://localhost:${server.port}`,
    consumer: config.consumerName,
    matchService: config.matchServiceUrl,
  },
  'notifier listening',
);

handleShutdownSignals(log, async () => {
  // Stop taking messages first (in-flight ones finish or go back), then HTTP, then connections.
  await consumer.stop();
  await server.close();
  await nats.drain();
  await orm.close();
  await tracing.shutdown();
});
