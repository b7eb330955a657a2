import { expect } from 'chai';
import {
  SchemaError,
  assertValidEvent,
  dataschemaOf,
  eventCatalog,
  getEventDefinition,
  isEventType,
  parseDataschema,
  upcastEvent,
  validateEvent,
} from '../src/index.js';

const matchId = '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d6e';
const a = '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d6f';
const b = '0190a8a6-6f4e-7c4b-9d7e-2f4a1b3c5d70';

describe('event catalog', () => {
  it('lists every type with its versions, latest, subject segment and dataschema', () => {
    expect(Object.keys(eventCatalog).sort()).to.deep.equal([
      'com.jetbox.match.cancelled',
      'com.jetbox.match.created',
    ]);
    const cancelled = getEventDefinition('com.jetbox.match.cancelled');
    expect(cancelled.latest).to.equal(2);
    expect(cancelled.subject).to.equal('match.cancelled');
    expect(Object.keys(cancelled.versions)).to.deep.equal(['1', '2']);
    expect(dataschemaOf('com.jetbox.match.created')).to.equal(
      'urn:jetbox:schema:com.jetbox.match.created:v1',
    );
    expect(parseDataschema(dataschemaOf('com.jetbox.match.cancelled', 1))).to.deep.equal({
      type: 'com.jetbox.match.cancelled',
      version: 1,
    });
  });

  it('rejects unknown types and versions with a coded error', () => {
    expect(isEventType('com.jetbox.match.exploded')).to.equal(false);
    expect(() => getEventDefinition('com.jetbox.match.exploded'))
      .to.throw(SchemaError, /unknown CloudEvent type "com.jetbox.match.exploded"/)
      .with.property('code', 'UNKNOWN_EVENT_TYPE');
    expect(() => validateEvent('com.jetbox.match.created', {}, 7)).to.throw(/has no version 7/);
    expect(() => parseDataschema('https://example.test/x')).to.throw(/not urn:jetbox:schema/);
  });
});

describe('validators', () => {
  it('accepts valid data', () => {
    const r = validateEvent('com.jetbox.match.created', { matchId, userIds: [a, b], region: 'eu' });
    expect(r.ok).to.equal(true);
  });

  it('names each wrong field and why', () => {
    const r = validateEvent('com.jetbox.match.created', {
      matchId: 'nope',
      userIds: [a],
      region: 3,
    });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.issues).to.deep.include({ path: '/matchId', message: 'must match format "uuid"' });
    expect(r.issues).to.deep.include({
      path: '/userIds',
      message: 'must NOT have fewer than 2 items',
    });
    expect(r.issues).to.deep.include({ path: '/region', message: 'must be string' });
  });

  it('reports missing fields and enum values in words', () => {
    expect(() =>
      assertValidEvent('com.jetbox.match.cancelled', {
        matchId,
        userIds: [],
        reason: { code: 'bored' },
      }),
    )
      .to.throw(
        SchemaError,
        /\/reason\/code must be one of \["user_request","no_show","moderation","other"\]/,
      )
      .with.property('code', 'INVALID_EVENT_DATA');
    expect(() =>
      assertValidEvent('com.jetbox.match.created', { userIds: [a, b], region: 'eu' }),
    ).to.throw(/\/matchId is required/);
  });

  it('keeps unknown fields, so an older consumer accepts a newer producer', () => {
    const r = validateEvent('com.jetbox.match.created', {
      matchId,
      userIds: [a, b],
      region: 'eu',
      extra: 1,
    });
    expect(r.ok).to.equal(true);
  });
});

describe('upcasting', () => {
  it('turns match.cancelled v1 into v2', () => {
    const v2 = upcastEvent('com.jetbox.match.cancelled', 1, { matchId, reason: 'moved away' });
    expect(v2).to.deep.equal({
      matchId,
      userIds: [],
      reason: { code: 'other', note: 'moved away' },
    });
  });

  it('passes latest-version data through after validating it', () => {
    const data = { matchId, userIds: [a, b], reason: { code: 'no_show' as const } };
    expect(upcastEvent('com.jetbox.match.cancelled', 2, data)).to.deep.equal(data);
    expect(() => upcastEvent('com.jetbox.match.cancelled', 1, { matchId })).to.throw(
      /reason is required/,
    );
  });

  it('fails loudly when an upcaster is missing', () => {
    expect(() => upcastEvent('com.jetbox.match.cancelled', 1, { matchId, reason: 'x' }, {}))
      .to.throw(/no upcaster from com.jetbox.match.cancelled v1 to v2/)
      .with.property('code', 'MISSING_UPCASTER');
  });
});
