import { expect } from 'chai';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { applyStreams, streamsStatus } from '../src/jetstream/applyStreams.js';
import { serverFeatures, serverFeaturesOf } from '../src/jetstream/serverFeatures.js';
import {
  resolveStreamsOptions,
  type StreamsOptions,
  type StreamsOptionsInput,
} from '../src/jetstream/streamsOptions.js';
import { isJetboxError, JetboxErrorCode } from '../src/errors.js';
import { connectTestNats, deleteStreams, uniqueStreamName } from '../src/testing/index.js';
import { startNatsCluster, type NatsClusterHandle } from '../src/testing/natsServer.js';

/** Streams with names and subjects no other test run uses. */
function uniqueStreams(extra: StreamsOptionsInput = {}): StreamsOptions {
  const events = uniqueStreamName('JETBOX_EV');
  const dlq = uniqueStreamName('JETBOX_DLQ');
  return resolveStreamsOptions({
    events: { name: events, subjects: [`${events.toLowerCase()}.>`], ...extra.events },
    deadLetter: { name: dlq, subjects: [`${dlq.toLowerCase()}.>`], ...extra.deadLetter },
  });
}

async function expectStreamConfigError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(isJetboxError(err, JetboxErrorCode.StreamConfig), String(err)).to.equal(true);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected a STREAM_CONFIG error matching ${message}`);
}

describe('streams as code (real nats-server)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const created: string[] = [];
  const track = (options: StreamsOptions) => {
    created.push(options.events.name, options.deadLetter.name);
    return options;
  };

  before(async () => {
    nc = await connectTestNats();
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await deleteStreams(nc, ...created);
    await nc.close();
  });

  it('creates both streams, then reports them unchanged', async () => {
    const options = track(uniqueStreams());
    const first = await applyStreams(jsm, options);
    expect(first).to.deep.equal([
      { name: options.events.name, action: 'created', drift: [] },
      { name: options.deadLetter.name, action: 'created', drift: [] },
    ]);
    const info = await jsm.streams.info(options.events.name);
    expect(info.config).to.deep.include({
      subjects: options.events.subjects,
      storage: 'file',
      num_replicas: 1,
      duplicate_window: 120e9,
      max_age: 7 * 24 * 3600e9,
      max_msg_size: 1024 * 1024,
      retention: 'limits',
      discard: 'old',
    });
    const again = await applyStreams(jsm, options);
    expect(again.map((r) => r.action)).to.deep.equal(['unchanged', 'unchanged']);
    expect(again.flatMap((r) => r.drift)).to.deep.equal([]);
  });

  it('reports drift without changing anything, then updates it away', async () => {
    const options = track(uniqueStreams());
    await applyStreams(jsm, options);
    const wanted: StreamsOptions = {
      ...options,
      events: {
        ...options.events,
        duplicateWindowMs: 60_000,
        maxMsgSize: 2048,
        subjects: [...options.events.subjects, `${options.events.name.toLowerCase()}_more.>`],
        description: 'domain events',
      },
    };
    const status = await streamsStatus(jsm, wanted);
    expect(status[0]).to.deep.equal({
      name: options.events.name,
      action: 'updated',
      exists: true,
      drift: [
        `subjects: [${options.events.subjects[0]}] → [${wanted.events.subjects.join(', ')}]`,
        'description: "" → "domain events"',
        'duplicate_window: 120s → 60s',
        'max_msg_size: 1048576 → 2048',
      ],
    });
    expect(status[1]).to.deep.equal({
      name: options.deadLetter.name,
      action: 'unchanged',
      exists: true,
      drift: [],
    });
    expect((await jsm.streams.info(options.events.name)).config.duplicate_window).to.equal(120e9);

    const applied = await applyStreams(jsm, wanted);
    expect(applied[0]?.action).to.equal('updated');
    expect(applied[0]?.drift).to.deep.equal(status[0]?.drift);
    const info = await jsm.streams.info(options.events.name);
    expect(info.config.duplicate_window).to.equal(60e9);
    expect(info.config.max_msg_size).to.equal(2048);
    expect(info.config.description).to.equal('domain events');
    expect((await streamsStatus(jsm, wanted)).map((s) => s.action)).to.deep.equal([
      'unchanged',
      'unchanged',
    ]);
  });

  it('reports missing streams as to be created, without creating them', async () => {
    const options = uniqueStreams();
    const status = await streamsStatus(jsm, options);
    expect(status.map((s) => [s.action, s.exists])).to.deep.equal([
      ['created', false],
      ['created', false],
    ]);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names).to.not.include(options.events.name);
  });

  it('refuses a storage change before changing any stream', async () => {
    const options = track(uniqueStreams());
    await applyStreams(jsm, options);
    const wanted: StreamsOptions = {
      events: { ...options.events, duplicateWindowMs: 30_000 },
      deadLetter: { ...options.deadLetter, storage: 'memory' },
    };
    await expectStreamConfigError(
      applyStreams(jsm, wanted),
      new RegExp(
        `stream ${options.deadLetter.name} cannot be changed .*storage: file → memory \\(JetStream cannot change the storage type`,
      ),
    );
    expect((await jsm.streams.info(options.events.name)).config.duplicate_window).to.equal(120e9);
    expect((await jsm.streams.info(options.deadLetter.name)).config.storage).to.equal('file');
    const status = await streamsStatus(jsm, wanted);
    expect(status[1]?.refusal).to.match(/^storage: JetStream cannot change the storage type/);
  });

  it('refuses replicas on a server that is not clustered', async () => {
    const options = track(uniqueStreams());
    await applyStreams(jsm, options);
    await expectStreamConfigError(
      applyStreams(jsm, { ...options, events: { ...options.events, replicas: 3 } }),
      /num_replicas: 1 → 3 \(the server is not clustered/,
    );
    expect((await jsm.streams.info(options.events.name)).config.num_replicas).to.equal(1);
    const fresh = uniqueStreams({ events: { replicas: 3 } });
    created.push(fresh.events.name, fresh.deadLetter.name);
    await expectStreamConfigError(
      applyStreams(jsm, fresh),
      new RegExp(
        `cannot create stream ${fresh.events.name}: replicas > 1 not supported in non-clustered mode`,
      ),
    );
  });

  it('reads the features of the connected server', async () => {
    const features = await serverFeatures(nc);
    expect(features.version).to.equal(nc.info?.version);
    expect(features.jetstream).to.equal(true);
    expect(features).to.deep.equal(serverFeaturesOf(nc.info!.version));
    if (features.major === 2 && features.minor === 9) {
      expect(features.multiFilter).to.equal(false);
      expect(features.termReason).to.equal(false);
    }
  });

  describe('in a 3-node cluster', () => {
    let cluster: NatsClusterHandle;
    let cnc: NatsConnection;

    before(async () => {
      cluster = await startNatsCluster({ size: 3 });
      cnc = await connectTestNats(cluster.urls);
    });

    after(async () => {
      await cnc?.close();
      await cluster?.dispose();
    });

    it('scales the events stream from 1 to 3 replicas', async () => {
      const cjsm = await jetstreamManager(cnc);
      const options = uniqueStreams();
      await applyStreams(cjsm, options);
      const result = await applyStreams(cjsm, {
        ...options,
        events: { ...options.events, replicas: 3 },
      });
      expect(result[0]).to.deep.equal({
        name: options.events.name,
        action: 'updated',
        drift: ['num_replicas: 1 → 3'],
      });
      const info = await cjsm.streams.info(options.events.name);
      expect(info.config.num_replicas).to.equal(3);
      expect(info.cluster?.name).to.be.a('string');
    });
  });
});
