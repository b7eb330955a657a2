import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  connectTestNats,
  createTestDatabase,
  deleteStreams,
  uniqueStreamName,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
} from '@jetbox/events/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { startStub, type StubServer } from './harness.js';
import {
  cleanUp,
  driveServices,
  freePort,
  startMatchService,
  startNotifier,
} from './support/driveServices.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
}

/** An OTLP/HTTP (JSON) traces receiver on loopback, keeping every span it is sent. */
async function startOtlpReceiver(): Promise<{
  url: string;
  spans: OtlpSpan[];
  close(): Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[];
        }[];
      };
      for (const rs of body.resourceSpans) {
        const service =
          rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracing: one trace from the HTTP request to the webhook (OTLP, processes)', function () {
  this.timeout(120_000);
  let matchDb: TestDatabase;
  let notifierDb: TestDatabase;
  let nats: NatsConnection;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let webhook: StubServer;
  let matchService: ServiceProcess | undefined;
  let notifier: ServiceProcess | undefined;
  const stream = uniqueStreamName('TRACE');

  before(async () => {
    // One after the other: a failure half-way leaves assigned what after() must remove.
    matchDb = await createTestDatabase('trace_match');
    notifierDb = await createTestDatabase('trace_notifier');
    nats = await connectTestNats();
    otlp = await startOtlpReceiver();
    webhook = await startStub();
  });

  after(() =>
    cleanUp(
      () => notifier?.stop(),
      () => matchService?.stop(),
      () => (nats ? deleteStreams(nats, stream, `${stream}_DLQ`) : undefined),
      () => nats?.close(),
      () => webhook?.close(),
      () => otlp?.close(),
      () => matchDb?.drop(),
      () => notifierDb?.drop(),
    ),
  );

  it('request → commit → publish → handler → match-service → webhook share one trace', async () => {
    const [matchPort, notifierPort] = await Promise.all([freePort(), freePort()]);
    const prefix = stream.toLowerCase();
    const common = {
      JETBOX_STREAM: stream,
      JETBOX_SUBJECT_PREFIX: prefix,
      JETBOX_DLQ_STREAM: `${stream}_DLQ`,
      JETBOX_DLQ_SUBJECT_PREFIX: `${prefix}_dlq`,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      NODE_ENV: 'production',
    };
    const places = { matchDb: matchDb.url, notifierDb: notifierDb.url, matchPort, notifierPort };
    matchService = await startMatchService(places, common);
    notifier = await startNotifier(places, {
      ...common,
      NOTIFIER_WEBHOOK_URL: `${webhook.url}/hook`,
    });
    const drive = driveServices({
      matchService: `http://127.0.0.1:${matchPort}`,
      notifier: `http://127.0.0.1:${notifierPort}`,
      notifierDb: notifierDb.url,
    });
    const { matchId } = await drive.matchPair();
    await waitFor('both webhook deliveries', () => webhook.received.length === 2, 30_000);
    // A graceful stop flushes the spans still batched.
    expect((await notifier.stop()).code).to.equal(0);
    expect((await matchService.stop()).code).to.equal(0);

    // Two requests asked to be matched; the second one created the match and its event.
    const publish = otlp.spans.find((s) => s.name === 'publish com.jetbox.match.created');
    expect(publish, 'the relay publish span').to.not.equal(undefined);
    const request = otlp.spans.find((s) => s.spanId === publish!.parentSpanId);
    expect(request, 'the request that created the match').to.deep.include({
      service: 'match-service',
      name: 'POST /users/:id/match-requests',
      kind: 2,
    });
    const trace = otlp.spans.filter((s) => s.traceId === request!.traceId);
    const names = trace.map((s) => `${s.service}: ${s.name}`);
    for (const expected of [
      'match-service: publish com.jetbox.match.created',
      'notifier: process com.jetbox.match.created',
      'notifier: GET match-service',
      'match-service: GET /matches/:id',
      'notifier: POST webhook',
    ]) {
      expect(names, JSON.stringify(names)).to.include(expected);
    }
    // The handler's calls hang under the handler's span, and match-service continues them.
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const process = trace.find((s) => s.name === 'process com.jetbox.match.created')!;
    const fetch = trace.find((s) => s.name === 'GET match-service')!;
    expect(fetch.parentSpanId).to.equal(process.spanId);
    const served = trace.find((s) => s.name === 'GET /matches/:id')!;
    expect(byId.get(served.parentSpanId!)?.name).to.equal('GET match-service');
    expect(webhook.received.every((r) => typeof r.headers.traceparent === 'string')).to.equal(true);
    expect(webhook.received[0]!.headers.traceparent).to.contain(request!.traceId);
    expect(matchId).to.be.a('string');
  });
});
