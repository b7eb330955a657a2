import { expect } from 'chai';
import {
  DEFAULT_DLQ_STREAM,
  DEFAULT_EVENTS_STREAM,
  resolveStreamsOptions,
  subjectsOverlap,
  type StreamsOptionsInput,
} from '../src/jetstream/streamsOptions.js';
import { expectInvalidOption } from './support/expectInvalidOption.js';

function expectInvalid(input: StreamsOptionsInput, property: string, problem: RegExp): void {
  expectInvalidOption(() => resolveStreamsOptions(input), property, problem);
}

describe('streams options', () => {
  it('declares the events and dead-letter streams by default', () => {
    const { events, deadLetter } = resolveStreamsOptions();
    expect(events).to.deep.equal({
      name: DEFAULT_EVENTS_STREAM,
      subjects: ['events.>'],
      replicas: 1,
      storage: 'file',
      duplicateWindowMs: 120_000,
      maxAgeMs: 7 * 24 * 3600_000,
      maxBytes: -1,
      maxMsgs: -1,
      maxMsgSize: 1024 * 1024,
      discard: 'old',
    });
    expect(deadLetter.name).to.equal(DEFAULT_DLQ_STREAM);
    expect(deadLetter.subjects).to.deep.equal(['dlq.>']);
    expect(deadLetter.storage).to.equal('file');
    expect(deadLetter.maxAgeMs).to.be.greaterThan(events.maxAgeMs);
  });

  it('merges partial options and never shares default arrays', () => {
    const a = resolveStreamsOptions({ events: { replicas: 3, subjects: ['app.events.>'] } });
    expect(a.events.replicas).to.equal(3);
    expect(a.events.subjects).to.deep.equal(['app.events.>']);
    expect(a.events.duplicateWindowMs).to.equal(120_000);
    expect(a.deadLetter.replicas).to.equal(1);
    a.deadLetter.subjects.push('x.>');
    expect(resolveStreamsOptions().deadLetter.subjects).to.deep.equal(['dlq.>']);
    expect(resolveStreamsOptions(a)).to.deep.equal(a);
  });

  it('refuses bad options naming the property', () => {
    expectInvalid({ events: { name: 'has.dot' } }, 'streams.events.name', /letters, digits/);
    expectInvalid({ events: { subjects: [] } }, 'streams.events.subjects', /non-empty/);
    expectInvalid(
      { events: { subjects: ['a.>.b'] } },
      'streams.events.subjects[0]',
      /> only as the whole last token/,
    );
    expectInvalid(
      { deadLetter: { subjects: ['dlq.>', 'a..b'] } },
      'streams.deadLetter.subjects[1]',
      /empty token/,
    );
    expectInvalid(
      { events: { subjects: ['a.b*'] } },
      'streams.events.subjects[0]',
      /\* only as a whole token/,
    );
    expectInvalid({ events: { replicas: 0 } }, 'streams.events.replicas', /1 to 5/);
    expectInvalid(
      { events: { storage: 'disk' as never } },
      'streams.events.storage',
      /'file' or 'memory'/,
    );
    expectInvalid(
      { events: { duplicateWindowMs: 0 } },
      'streams.events.duplicateWindowMs',
      /milliseconds/,
    );
    expectInvalid(
      { events: { duplicateWindowMs: 600_000, maxAgeMs: 60_000 } },
      'streams.events.duplicateWindowMs',
      /must not exceed maxAgeMs/,
    );
    expectInvalid(
      { deadLetter: { maxBytes: 0 } },
      'streams.deadLetter.maxBytes',
      /-1 for no limit/,
    );
    expectInvalid({ events: { maxMsgSize: 1.5 } }, 'streams.events.maxMsgSize', /positive integer/);
    expectInvalid(
      { events: { discard: 'all' as never } },
      'streams.events.discard',
      /'old' or 'new'/,
    );
    expectInvalid(
      { deadLetter: { name: DEFAULT_EVENTS_STREAM } },
      'streams.deadLetter.name',
      /must differ/,
    );
    expectInvalid(
      { deadLetter: { subjects: ['events.dlq.>'] } },
      'streams.deadLetter.subjects',
      /overlaps/,
    );
  });

  it('knows which subject patterns overlap', () => {
    expect(subjectsOverlap('events.>', 'events.match.created.1')).to.equal(true);
    expect(subjectsOverlap('events.*.created', 'events.match.*')).to.equal(true);
    expect(subjectsOverlap('events.>', 'events')).to.equal(false);
    expect(subjectsOverlap('events.>', 'dlq.>')).to.equal(false);
    expect(subjectsOverlap('a.b', 'a.b.c')).to.equal(false);
    expect(subjectsOverlap('>', 'anything')).to.equal(true);
  });
});
