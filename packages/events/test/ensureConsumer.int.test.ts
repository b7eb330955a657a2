import { expect } from 'chai';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureConsumer } from '../src/consumer/ensureConsumer.js';
import {
  connectTestNats,
  deleteStreams,
  uniqueName,
  uniqueStreamName,
} from '../src/testing/index.js';

describe('ensureConsumer (real JetStream)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = uniqueStreamName('JETBOX_ENSURE');
  const prefix = uniqueName('ens').replace(/_/g, '');
  const options = (subjects: string[]) => ({
    name: 'worker',
    subjects,
    maxDeliver: 5,
    ackWaitMs: 30_000,
    maxAckPending: 100,
  });

  before(async () => {
    nc = await connectTestNats();
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  });

  after(async () => {
    await deleteStreams(nc, stream);
    await nc.close();
  });

  it('removes a subject filter the options no longer have, and then finds it unchanged', async () => {
    const created = await ensureConsumer(jsm, stream, options([`${prefix}.a`]));
    expect(created.action).to.equal('created');
    expect(created.info.config.filter_subject).to.equal(`${prefix}.a`);

    const widened = await ensureConsumer(jsm, stream, options([]));
    expect(widened.action).to.equal('updated');
    expect(widened.info.config.filter_subject || undefined).to.equal(undefined);
    const info = await jsm.consumers.info(stream, 'worker');
    expect(info.config.filter_subject || undefined).to.equal(undefined);

    expect((await ensureConsumer(jsm, stream, options([]))).action).to.equal('unchanged');
    const narrowed = await ensureConsumer(jsm, stream, options([`${prefix}.b`]));
    expect(narrowed.action).to.equal('updated');
    expect(narrowed.info.config.filter_subject).to.equal(`${prefix}.b`);
  });
});
