import { expect } from 'chai';
import { MsgHdrsImpl, type MsgHdrs } from '@nats-io/nats-core';
import { CloudEvent } from 'cloudevents';
import { decodeCloudEvent } from '../src/cloudevents/decodeCloudEvent.js';
import { encodeCloudEvent, type EncodedMessage } from '../src/cloudevents/encodeCloudEvent.js';
import { decodeHeaderValue, encodeHeaderValue } from '../src/cloudevents/headerValues.js';
import { isJetboxError, JetboxErrorCode } from '../src/errors.js';

const text = new TextEncoder();

/** Headers exactly as they would arrive from the wire (`NATS/1.0` block). */
function wireHeaders(lines: string[]): MsgHdrs {
  return MsgHdrsImpl.decode(text.encode(`NATS/1.0\r\n${lines.join('\r\n')}\r\n\r\n`));
}

/** Sends an encoded message through the NATS header wire format and back. */
function overTheWire(msg: EncodedMessage): EncodedMessage {
  return { headers: MsgHdrsImpl.decode((msg.headers as MsgHdrsImpl).encode()), data: msg.data };
}

function headerRecord(headers: MsgHdrs): Record<string, string> {
  return Object.fromEntries([...headers].map(([k, v]) => [k, v.join(',')]));
}

function expectDecodeFailure(msg: { headers?: MsgHdrs; data: Uint8Array }, message: RegExp): void {
  try {
    decodeCloudEvent(msg);
  } catch (err) {
    expect(isJetboxError(err, JetboxErrorCode.DecodeFailed), String(err)).to.equal(true);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`decoding should have failed with ${message}`);
}

function expectEncodeFailure(event: Record<string, unknown>, message: RegExp): void {
  try {
    encodeCloudEvent(event as never);
  } catch (err) {
    expect(isJetboxError(err, JetboxErrorCode.InvalidEvent), String(err)).to.equal(true);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`encoding should have failed with ${message}`);
}

const base = {
  specversion: '1.0',
  id: '0190b7a4-1111-7000-8000-000000000000',
  source: '/match-service',
  type: 'com.jetbox.match.created',
  subject: 'match-42',
  time: '2024-05-01T10:00:00.123Z',
  dataschema: 'https://jetbox.dev/schemas/match.created/v1.json',
  partitionkey: 'match-42',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01',
  tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
  data: { matchId: 'match-42', users: ['a', 'b'], score: 0.93 },
};

describe('CloudEvents NATS binding: spec examples', () => {
  it('decodes the binary-mode example of the NATS binding (§3.1.4)', () => {
    const event = decodeCloudEvent({
      headers: wireHeaders([
        'ce-specversion: 1.0',
        'ce-type: com.example.someevent',
        'ce-time: 2018-04-05T03:56:24Z',
        'ce-id: 1234-1234-1234',
        'ce-source: /mycontext/subcontext',
        'ce-datacontenttype: application/json',
      ]),
      data: text.encode('{\n  "hello": "world"\n}'),
    });
    expect(event).to.be.instanceOf(CloudEvent);
    expect(event.specversion).to.equal('1.0');
    expect(event.type).to.equal('com.example.someevent');
    expect(event.time).to.equal('2018-04-05T03:56:24Z');
    expect(event.id).to.equal('1234-1234-1234');
    expect(event.source).to.equal('/mycontext/subcontext');
    expect(event.datacontenttype).to.equal('application/json');
    expect(event.data).to.deep.equal({ hello: 'world' });
  });

  it('decodes the structured-mode example (§3.2.1) with Content-Type application/cloudevents+json', () => {
    const body = {
      specversion: '1.0',
      type: 'com.example.someevent',
      source: '/mycontext',
      id: 'A234-1234-1234',
      time: '2018-04-05T17:31:00Z',
      comexampleextension1: 'value',
      comexampleothervalue: 5,
      datacontenttype: 'application/json',
      data: { appinfoA: 'abc', appinfoB: 123, appinfoC: true },
    };
    const event = decodeCloudEvent({
      headers: wireHeaders(['Content-Type: application/cloudevents+json; charset=utf-8']),
      data: text.encode(JSON.stringify(body)),
    });
    expect(event.id).to.equal('A234-1234-1234');
    expect(event.comexampleextension1).to.equal('value');
    expect(event.comexampleothervalue).to.equal(5);
    expect(event.data).to.deep.equal(body.data);
  });

  it('encodes "Euro € 😀" as the spec says (§3.1.3.2)', () => {
    expect(encodeHeaderValue('Euro € 😀')).to.equal('Euro%20%E2%82%AC%20%F0%9F%98%80');
    expect(decodeHeaderValue('Euro%20%E2%82%AC%20%F0%9F%98%80')).to.equal('Euro € 😀');
  });

  it('maps every attribute to a ce- header, datacontenttype included (§3.1.3.1)', () => {
    const { headers, data } = encodeCloudEvent(base);
    expect(headerRecord(headers)).to.deep.equal({
      'ce-specversion': '1.0',
      'ce-id': base.id,
      'ce-source': base.source,
      'ce-type': base.type,
      'ce-subject': base.subject,
      'ce-time': base.time,
      'ce-dataschema': base.dataschema,
      'ce-partitionkey': base.partitionkey,
      'ce-traceparent': base.traceparent,
      'ce-tracestate': base.tracestate,
      'ce-datacontenttype': 'application/json',
    });
    expect(JSON.parse(new TextDecoder().decode(data))).to.deep.equal(base.data);
  });

  it('reads the distributed-tracing extension from ce-traceparent, not the per-hop traceparent', () => {
    const event = decodeCloudEvent({
      headers: wireHeaders([
        'ce-id: 1',
        'ce-specversion: 1.0',
        'ce-type: example',
        'ce-source: http://localhost',
        'ce-traceparent:  00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01',
        'traceparent:  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'tracestate: rojo=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      ]),
      data: new Uint8Array(0),
    });
    expect(event.traceparent).to.equal('00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01');
    expect(event.tracestate).to.equal(undefined);
    expect(event.data).to.equal(undefined);
  });
});

describe('CloudEvents NATS binding: round trips', () => {
  for (const mode of ['binary', 'structured'] as const) {
    it(`round-trips every attribute and JSON data in ${mode} mode`, () => {
      const decoded = decodeCloudEvent(overTheWire(encodeCloudEvent(base, { mode })));
      const { data, ...attributes } = base;
      for (const [name, value] of Object.entries(attributes)) {
        expect(decoded[name], name).to.equal(value);
      }
      expect(decoded.datacontenttype).to.equal('application/json');
      expect(decoded.data).to.deep.equal(data);
    });

    it(`round-trips binary data in ${mode} mode`, () => {
      const bytes = new Uint8Array([0, 1, 2, 250, 255, 0x0d, 0x0a]);
      const decoded = decodeCloudEvent(
        overTheWire(
          encodeCloudEvent(
            { ...base, datacontenttype: 'application/octet-stream', data: bytes },
            { mode },
          ),
        ),
      );
      expect(decoded.datacontenttype).to.equal('application/octet-stream');
      expect(Buffer.from(decoded.data as Uint8Array)).to.deep.equal(Buffer.from(bytes));
    });

    it(`round-trips text data and events without data in ${mode} mode`, () => {
      const plain = decodeCloudEvent(
        overTheWire(
          encodeCloudEvent({ ...base, datacontenttype: 'text/plain', data: 'héllo "x"' }, { mode }),
        ),
      );
      expect(plain.data).to.equal('héllo "x"');
      const { data: _data, ...noData } = base;
      const empty = decodeCloudEvent(overTheWire(encodeCloudEvent(noData, { mode })));
      expect(empty.data).to.equal(undefined);
      expect(empty.datacontenttype).to.equal(undefined);
    });
  }

  it('accepts an SDK CloudEvent as input', () => {
    const sdk = new CloudEvent({ ...base, data: { a: 1 } });
    const decoded = decodeCloudEvent(overTheWire(encodeCloudEvent(sdk)));
    expect(decoded.id).to.equal(base.id);
    expect(decoded.data).to.deep.equal({ a: 1 });
  });

  it('writes integer, boolean, Date and binary extension values in canonical form', () => {
    const { headers } = encodeCloudEvent({
      ...base,
      count: 42,
      flag: false,
      at: new Date('2024-01-02T03:04:05.000Z'),
      blob: new Uint8Array([1, 2, 3]),
    });
    expect(headers.get('ce-count')).to.equal('42');
    expect(headers.get('ce-flag')).to.equal('false');
    expect(headers.get('ce-at')).to.equal('2024-01-02T03:04:05.000Z');
    expect(headers.get('ce-blob')).to.equal('AQID');
  });

  it('defaults specversion to 1.0 and skips undefined and null attributes', () => {
    const { headers } = encodeCloudEvent({
      id: '1',
      source: '/s',
      type: 't',
      subject: undefined,
      dataschema: null,
    } as never);
    expect(headerRecord(headers)).to.deep.equal({
      'ce-specversion': '1.0',
      'ce-id': '1',
      'ce-source': '/s',
      'ce-type': 't',
    });
  });
});

describe('CloudEvents NATS binding: header values', () => {
  const cases: [string, string][] = [
    [
      'plain-ascii_value.1~!#$&()*+,/:;<=>?@[]^`{|}',
      'plain-ascii_value.1~!#$&()*+,/:;<=>?@[]^`{|}',
    ],
    ['a b', 'a%20b'],
    ['say "hi"', 'say%20%22hi%22'],
    ['100%', '100%25'],
    ['%20', '%2520'],
    ['tab\there', 'tab%09here'],
    ['crlf\r\n', 'crlf%0D%0A'],
    ['del\u007f', 'del%7F'],
    ['ünïcödé', '%C3%BCn%C3%AFc%C3%B6d%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    [' leading and trailing ', '%20leading%20and%20trailing%20'],
  ];
  for (const [value, encoded] of cases) {
    it(`encodes ${JSON.stringify(value)} as ${encoded} and back`, () => {
      expect(encodeHeaderValue(value)).to.equal(encoded);
      expect(decodeHeaderValue(encoded)).to.equal(value);
      const decoded = decodeCloudEvent(overTheWire(encodeCloudEvent({ ...base, subject: value })));
      expect(decoded.subject).to.equal(value);
    });
  }

  it('accepts lower-case hex and unnecessarily encoded characters', () => {
    expect(decodeHeaderValue('%e2%82%ac%41%2F')).to.equal('€A/');
  });

  it('unescapes double-quoted values as older producers sent them', () => {
    expect(decodeHeaderValue('"a quoted \\"value\\" \\\\ here"')).to.equal(
      'a quoted "value" \\ here',
    );
    expect(decodeHeaderValue('x "y z"')).to.equal('x y z');
    expect(decodeHeaderValue('"100%25"')).to.equal('100%');
  });

  it('keeps a stray % that starts no escape', () => {
    expect(decodeHeaderValue('50% off')).to.equal('50% off');
  });

  it('rejects overlong and invalid UTF-8 sequences', () => {
    expect(() => decodeHeaderValue('%C0%A0')).to.throw(URIError);
    expect(() => decodeHeaderValue('%ED%A0%80')).to.throw(URIError);
    expect(() => decodeHeaderValue('%FF')).to.throw(URIError);
  });
});

describe('CloudEvents NATS binding: header names are case-insensitive', () => {
  it('reads CE-*, Ce-* and ce-* headers alike', () => {
    const event = decodeCloudEvent({
      headers: wireHeaders([
        'CE-SPECVERSION: 1.0',
        'Ce-Id: abc',
        'ce-Source: /x',
        'cE-tYpE: t',
        'Ce-Partitionkey: key-1',
        'CE-DATACONTENTTYPE: application/json',
      ]),
      data: text.encode('[1,2]'),
    });
    expect(event.id).to.equal('abc');
    expect(event.type).to.equal('t');
    expect(event.partitionkey).to.equal('key-1');
    expect(event.data).to.deep.equal([1, 2]);
  });

  it('detects structured mode from CONTENT-TYPE in any case', () => {
    const { data } = encodeCloudEvent(base, { mode: 'structured' });
    const event = decodeCloudEvent({
      headers: wireHeaders(['CONTENT-TYPE: Application/CloudEvents+JSON']),
      data,
    });
    expect(event.id).to.equal(base.id);
  });

  it('falls back to Content-Type for the data content type in binary mode', () => {
    const event = decodeCloudEvent({
      headers: wireHeaders([
        'ce-specversion: 1.0',
        'ce-id: 1',
        'ce-source: /s',
        'ce-type: t',
        'Content-Type: application/json',
      ]),
      data: text.encode('{"a":1}'),
    });
    expect(event.data).to.deep.equal({ a: 1 });
  });

  it('reads a structured event sent without headers', () => {
    const { data } = encodeCloudEvent(base, { mode: 'structured' });
    expect(decodeCloudEvent({ data }).id).to.equal(base.id);
  });
});

describe('CloudEvents NATS binding: clear errors', () => {
  const required = ['ce-specversion: 1.0', 'ce-id: 1', 'ce-source: /s', 'ce-type: t'];
  const without = (name: string) => required.filter((l) => !l.startsWith(`${name}:`));

  for (const name of ['ce-id', 'ce-source', 'ce-type', 'ce-specversion']) {
    it(`names a missing ${name}`, () => {
      expectDecodeFailure(
        { headers: wireHeaders(without(name)), data: new Uint8Array(0) },
        new RegExp(`missing header ${name}$`),
      );
    });
  }

  it('refuses a specversion other than 1.0', () => {
    expectDecodeFailure(
      {
        headers: wireHeaders([...without('ce-specversion'), 'ce-specversion: 0.3']),
        data: new Uint8Array(0),
      },
      /invalid header ce-specversion "0.3": only 1.0 is supported/,
    );
  });

  it('names a bad JSON body and the event', () => {
    expectDecodeFailure(
      {
        headers: wireHeaders([...required, 'ce-datacontenttype: application/json']),
        data: text.encode('{"a":'),
      },
      /^cannot decode CloudEvent: event 1: bad JSON body: /,
    );
    expectDecodeFailure(
      {
        headers: wireHeaders(['content-type: application/cloudevents+json']),
        data: text.encode('nope'),
      },
      /bad JSON body in structured mode/,
    );
  });

  it('refuses unsupported structured content types', () => {
    for (const type of ['application/cloudevents-batch+json', 'application/cloudevents+xml']) {
      expectDecodeFailure(
        { headers: wireHeaders([`content-type: ${type}`]), data: text.encode('[]') },
        new RegExp(`unsupported content type ${type.replace('+', '\\+')}`),
      );
    }
  });

  it('says when a message is no CloudEvent at all', () => {
    expectDecodeFailure({ data: text.encode('hello') }, /not a CloudEvent/);
    expectDecodeFailure(
      { headers: wireHeaders(['Nats-Msg-Id: 1']), data: new Uint8Array(0) },
      /not a CloudEvent/,
    );
  });

  it('refuses a structured body that is not an object, or lacks attributes', () => {
    expectDecodeFailure(
      {
        headers: wireHeaders(['content-type: application/cloudevents+json']),
        data: text.encode('[1]'),
      },
      /body must be a JSON object/,
    );
    expectDecodeFailure(
      {
        headers: wireHeaders(['content-type: application/cloudevents+json']),
        data: text.encode('{"specversion":"1.0","id":"1","source":"/s"}'),
      },
      /missing type$/,
    );
    expectDecodeFailure(
      {
        headers: wireHeaders(['content-type: application/cloudevents+json']),
        data: text.encode('{"specversion":"1.0","id":1,"source":"/s","type":"t"}'),
      },
      /id must be a string/,
    );
  });

  it('names attributes the SDK finds invalid', () => {
    expectDecodeFailure(
      { headers: wireHeaders([...required, 'ce-time: yesterday']), data: new Uint8Array(0) },
      /event 1: invalid CloudEvent: time must match format "date-time"/,
    );
    expectDecodeFailure(
      {
        headers: wireHeaders([...required, 'ce-dataschema: not%20a%20uri']),
        data: new Uint8Array(0),
      },
      /dataschema must match format "uri"/,
    );
  });

  it('refuses header names that cannot be attributes, duplicates and bad encodings', () => {
    expectDecodeFailure(
      { headers: wireHeaders([...required, 'ce-trace-id: x']), data: new Uint8Array(0) },
      /header ce-trace-id: attribute names must be lower-case/,
    );
    expectDecodeFailure(
      { headers: wireHeaders([...required, 'CE-ID: 2']), data: new Uint8Array(0) },
      /header ce-id appears more than once/,
    );
    expectDecodeFailure(
      { headers: wireHeaders([...required, 'ce-subject: %C0%A0']), data: new Uint8Array(0) },
      /header ce-subject: percent-encoded bytes are not valid UTF-8/,
    );
    expectDecodeFailure(
      { headers: wireHeaders([...required, 'ce-subject: "open']), data: new Uint8Array(0) },
      /header ce-subject: unterminated quoted string/,
    );
    expectDecodeFailure(
      {
        headers: wireHeaders(['content-type: application/cloudevents+json']),
        data: text.encode(
          '{"specversion":"1.0","id":"1","source":"/s","type":"t","__proto__":{"x":1}}',
        ),
      },
      /attribute name "__proto__"/,
    );
  });

  it('refuses to encode events that could not be decoded', () => {
    expectEncodeFailure({ ...base, id: '' }, /attribute id must be a non-empty string/);
    expectEncodeFailure({ ...base, type: undefined }, /attribute type must be a non-empty string/);
    expectEncodeFailure({ ...base, specversion: '0.3' }, /specversion must be 1.0/);
    expectEncodeFailure({ ...base, partitionKey: 'x' }, /attribute name "partitionKey"/);
    expectEncodeFailure({ ...base, ratio: 0.5 }, /attribute ratio must be a string, integer/);
    expectEncodeFailure({ ...base, subject: 'x\ud800' }, /attribute subject is not valid Unicode/);
    expectEncodeFailure({ ...base, data: 1n }, /data is not JSON-serialisable/);
    expect(() => encodeCloudEvent(base, { mode: 'batch' as never })).to.throw(
      /invalid option mode/,
    );
  });
});
