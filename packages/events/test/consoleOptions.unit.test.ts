import { expect } from 'chai';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  DEFAULT_CONSOLE_REFRESH_MS,
  resolveConsoleOptions,
  type ConsoleOptionsInput,
} from '../src/console/consoleOptions.js';
import type { Queryable } from '../src/relay/outboxSql.js';
import { expectInvalidOption } from './support/expectInvalidOption.js';

// Resolving options never touches the connections.
const base: ConsoleOptionsInput = { db: {} as Queryable, nats: {} as NatsConnection };

describe('resolveConsoleOptions', () => {
  it('defaults to a read-only console on the default streams', () => {
    const o = resolveConsoleOptions(base);
    expect(o).to.include({
      stream: 'JETBOX_EVENTS',
      dlqStream: 'JETBOX_DLQ',
      dlqSubjectPrefix: 'dlq',
      token: undefined,
      refreshMs: DEFAULT_CONSOLE_REFRESH_MS,
    });
    expect(resolveConsoleOptions({ ...base, token: '' }).token).to.equal(undefined);
  });

  it('refuses invalid options, naming them', () => {
    expectInvalidOption(() => resolveConsoleOptions({ ...base, token: 'short' }), 'token', /16/);
    expectInvalidOption(
      () => resolveConsoleOptions({ ...base, dlqSubjectPrefix: 'dlq.>' }),
      'dlqSubjectPrefix',
      /NATS name/,
    );
    expectInvalidOption(() => resolveConsoleOptions({ ...base, stream: '' }), 'stream', /NATS/);
    expectInvalidOption(
      () => resolveConsoleOptions({ ...base, sampleIntervalMs: 1.5 }),
      'sampleIntervalMs',
      /integer/,
    );
    expectInvalidOption(
      () => resolveConsoleOptions({ ...base, sampleHistory: 1 }),
      'sampleHistory',
      /at least 2/,
    );
  });
});
