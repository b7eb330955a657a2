import { listDeadLetters } from '@jetbox/events';
import {
  createTestDatabase,
  startNatsCluster,
  waitFor,
  type NatsClusterHandle,
  type ServiceProcess,
  type TestDatabase,
} from '@jetbox/events/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import {
  cleanUp,
  driveServices,
  freePort,
  startMatchService,
  startNotifier,
} from './support/driveServices.js';

const STREAM = 'CLUSTER_EVENTS';

/**
 * match-service (with its relay) and notifier as processes on a 3-node JetStream cluster with
 * R3 streams: the events stream's leader is killed while events flow.
 */
describe('3-node JetStream cluster: the stream leader dies while events flow', function () {
  this.timeout(180_000);
  let cluster: NatsClusterHandle;
  let nc: NatsConnection;
  let matchDb: TestDatabase;
  let notifierDb: TestDatabase;
  let matchService: ServiceProcess | undefined;
  let notifier: ServiceProcess | undefined;

  before(async () => {
    // One after the other: a failure half-way leaves assigned what after() must remove.
    cluster = await startNatsCluster({ size: 3 });
    matchDb = await createTestDatabase('cluster_match');
    notifierDb = await createTestDatabase('cluster_notifier');
    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  });

  after(() =>
    cleanUp(
      () => notifier?.stop(),
      () => matchService?.stop(),
      () => nc?.close(),
      () => cluster?.dispose(),
      () => matchDb?.drop(),
      () => notifierDb?.drop(),
    ),
  );

  it('relay and notifier keep working; every event is in the stream once and notified once', async () => {
    const [matchPort, notifierPort] = await Promise.all([freePort(), freePort()]);
    const common = {
      // Every server, so each client fails over to a survivor.
      NATS_URL: cluster.urls.join(','),
      JETBOX_STREAM: STREAM,
      JETBOX_DLQ_STREAM: 'CLUSTER_DLQ',
      JETBOX_STREAM_REPLICAS: '3',
      JETBOX_LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    };
    const places = { matchDb: matchDb.url, notifierDb: notifierDb.url, matchPort, notifierPort };
    matchService = await startMatchService(places, common);
    notifier = await startNotifier(places, {
      ...common,
      NOTIFIER_ACK_WAIT_MS: '5000',
    });
    const drive = driveServices({
      matchService: `http://127.0.0.1:${matchPort}`,
      notifier: `http://127.0.0.1:${notifierPort}`,
      notifierDb: notifierDb.url,
    });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM);
    expect(info.config.num_replicas).to.equal(3);

    const pairs = [];
    for (let i = 0; i < 10; i++) pairs.push(await drive.matchPair());
    const leaderName = info.cluster?.leader;
    const leader = cluster.servers.find((s) => s.serverName === leaderName);
    expect(leader, `stream leader ${leaderName}`).to.not.equal(undefined);
    await leader!.kill();
    // Events keep being recorded while the cluster elects a new leader.
    for (let i = 0; i < 10; i++) pairs.push(await drive.matchPair());

    const events = pairs.length;
    await waitFor(
      `${events * 2} notifications`,
      async () => (await drive.notificationRows()).length === events * 2,
      120_000,
      250,
    );
    const rows = await drive.notificationRows();
    expect(rows.filter((r) => r.n !== 1)).to.deep.equal([]);
    for (const p of pairs) {
      for (const user of p.users) expect(await drive.notificationsOf(user)).to.have.length(1);
    }
    const after = await jsm.streams.info(STREAM);
    expect(after.cluster?.leader).to.not.equal(leaderName);
    expect(after.state.messages, 'each event in the stream once').to.equal(events);
    const letters = await listDeadLetters(nc, { stream: 'CLUSTER_DLQ', consumer: 'notifier' });
    expect(letters).to.deep.equal([]);
  });
});
