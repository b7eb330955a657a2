import { expect } from 'chai';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeCloudEvent } from '../src/cloudevents/decodeCloudEvent.js';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import { connectTestNats, deleteStreams, uniqueStreamName } from '../src/testing/index.js';

describe('CloudEvents NATS binding over a real nats-server', () => {
  let nc: NatsConnection;
  const stream = uniqueStreamName();
  const subject = `${stream.toLowerCase()}.events`;

  before(async () => {
    nc = await connectTestNats();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  });

  after(async () => {
    await deleteStreams(nc, stream);
    await nc.close();
  });

  for (const mode of ['binary', 'structured'] as const) {
    it(`stores and reads back a ${mode}-mode event through JetStream`, async () => {
      const event = {
        specversion: '1.0',
        id: `${mode}-0190b7a4-1111-7000-8000-000000000000`,
        source: '/match-service',
        type: 'com.jetbox.match.created',
        subject: 'Zoë "quoted" 100% ✓',
        time: '2024-05-01T10:00:00.123Z',
        partitionkey: 'match-42',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01',
        data: { matchId: 'match-42', note: 'ünïcode' },
      };
      const { headers, data } = encodeCloudEvent(event, { mode });
      const js = jetstream(nc);
      const ack = await js.publish(subject, data, { headers, msgID: event.id });
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });
      expect(stored).to.not.equal(null);
      const decoded = decodeCloudEvent({ headers: stored!.header, data: stored!.data });
      expect(decoded.id).to.equal(event.id);
      expect(decoded.subject).to.equal(event.subject);
      expect(decoded.partitionkey).to.equal('match-42');
      expect(decoded.traceparent).to.equal(event.traceparent);
      expect(decoded.data).to.deep.equal(event.data);
      // The msgID option adds Nats-Msg-Id to the same headers; decoding ignores it.
      expect(stored!.header.get('Nats-Msg-Id')).to.equal(event.id);
    });
  }
});
