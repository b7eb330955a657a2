import { expect } from 'chai';
import fc from 'fast-check';
import { MsgHdrsImpl } from '@nats-io/nats-core';
import { decodeCloudEvent } from '../src/cloudevents/decodeCloudEvent.js';
import { encodeCloudEvent } from '../src/cloudevents/encodeCloudEvent.js';
import { decodeHeaderValue, encodeHeaderValue } from '../src/cloudevents/headerValues.js';

// Names the SDK treats specially; everything else matching [a-z0-9]+ is a plain extension.
const RESERVED = new Set([
  'id',
  'source',
  'type',
  'specversion',
  'subject',
  'time',
  'dataschema',
  'datacontenttype',
  'data',
  'datacontentencoding',
  'schemaurl',
]);

// Strings over all of Unicode (no lone surrogates), biased towards what needs encoding.
const awkward = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      ' ',
      '"',
      '%',
      '\\',
      '%2',
      '%41',
      '€',
      '😀',
      '\t',
      '\u0085',
      'a',
      'é',
      '\u2028',
      ',',
    ),
    minLength: 1,
    maxLength: 20,
  }),
);

const event = fc.record({
  id: awkward,
  type: awkward,
  subject: awkward,
  source: fc.webUrl({ withQueryParameters: true, withFragments: true }),
  time: fc.date({
    min: new Date('0001-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  }),
  extensions: fc.dictionary(
    fc.stringMatching(/^[a-z0-9]{1,20}$/).filter((name) => !RESERVED.has(name)),
    awkward,
    { maxKeys: 5 },
  ),
  data: fc.jsonValue(),
});

describe('CloudEvents NATS binding: properties', () => {
  it('percent-encoding yields printable ASCII without space, quote or stray % and decodes back', () => {
    fc.assert(
      fc.property(awkward, (value) => {
        const encoded = encodeHeaderValue(value);
        expect(encoded).to.match(/^(?:[\x21\x23\x24\x26-\x7e]|%[0-9A-F]{2})*$/);
        expect(decodeHeaderValue(encoded)).to.equal(value);
      }),
      { numRuns: 500 },
    );
  });

  for (const mode of ['binary', 'structured'] as const) {
    it(`round-trips arbitrary attribute values and JSON data in ${mode} mode`, () => {
      fc.assert(
        fc.property(event, ({ extensions, time, ...core }) => {
          const input = { specversion: '1.0', ...extensions, ...core, time: time.toISOString() };
          const encoded = encodeCloudEvent(input, { mode });
          const wire = MsgHdrsImpl.decode((encoded.headers as MsgHdrsImpl).encode());
          const decoded = decodeCloudEvent({ headers: wire, data: encoded.data });
          for (const name of [
            'id',
            'type',
            'subject',
            'source',
            'time',
            ...Object.keys(extensions),
          ]) {
            expect(decoded[name], name).to.equal(input[name as keyof typeof input]);
          }
          expect(decoded.data).to.deep.equal(JSON.parse(JSON.stringify(core.data)));
        }),
        { numRuns: 200 },
      );
    });
  }
});
