import { expect } from 'chai';
import { constantValue, envDefault, scanEnvReads } from '../src/scanEnvReads.js';

const CONFIG = `
import { natsOptionsFromEnv } from '@jetbox/events';
/** Reads DOCUMENTED_ONLY in a comment: not a read. */
export const DEFAULT_PORT = 3001;
const DEFAULT_CONSUMER = 'notifier';
export function readConfig(env: Record<string, string | undefined> = process.env) {
  const get = (name: string) => env[name]?.trim() || undefined;
  process.once('SIGTERM', () => undefined);
  return {
    port: integer('PORT', get('PORT'), DEFAULT_PORT),
    consumer: get('NOTIFIER_CONSUMER') ?? DEFAULT_CONSUMER,
    url: get('MATCH_SERVICE_URL') ?? 'http://127.0.0.1:3000',
    timeout: Number(env.NOTIFIER_HTTP_TIMEOUT_MS ?? 5000),
    level: process.env.JETBOX_LOG_LEVEL,
    hook: env['NOTIFIER_WEBHOOK_URL'],
    nats: natsOptionsFromEnv(env),
    label: describe('lower-case literal'),
  };
}
`;

describe('scanEnvReads', () => {
  it('finds getter calls, property and element reads, and helper calls', () => {
    const { names, calls } = scanEnvReads('config.ts', CONFIG);
    expect([...names].sort()).to.deep.equal([
      'JETBOX_LOG_LEVEL',
      'MATCH_SERVICE_URL',
      'NOTIFIER_CONSUMER',
      'NOTIFIER_HTTP_TIMEOUT_MS',
      'NOTIFIER_WEBHOOK_URL',
      'PORT',
    ]);
    expect(calls.has('natsOptionsFromEnv')).to.equal(true);
  });

  it('ignores comments, signals passed to methods and lower-case literals', () => {
    const { names } = scanEnvReads('config.ts', CONFIG);
    expect(names.has('DOCUMENTED_ONLY')).to.equal(false);
    expect(names.has('SIGTERM')).to.equal(false);
  });

  it('resolves a literal default directly or through a const of the file', () => {
    expect(envDefault('config.ts', 'NOTIFIER_CONSUMER', CONFIG)).to.equal('notifier');
    expect(envDefault('config.ts', 'MATCH_SERVICE_URL', CONFIG)).to.equal('http://127.0.0.1:3000');
    expect(envDefault('config.ts', 'NOT_READ', CONFIG)).to.equal(undefined);
  });

  it('reads the service-kit reader idiom read.<kind>(NAME, default), following no other object', () => {
    const text = `
      const DEFAULT_CONSUMER_NAME = 'notifier';
      export function readConfig(env = process.env) {
        const read = envReader(env);
        return {
          port: read.integer('PORT', 3001, 0, 65535),
          consumer: read.string('NOTIFIER_CONSUMER', DEFAULT_CONSUMER_NAME),
          hook: read.httpUrl('NOTIFIER_WEBHOOK_URL'),
          shared: readJetboxEnv(read, env, 'postgres://x'),
          label: logger.child('NOT_A_VARIABLE'),
        };
      }`;
    const { names, calls } = scanEnvReads('config.ts', text);
    expect([...names].sort()).to.deep.equal(['NOTIFIER_CONSUMER', 'NOTIFIER_WEBHOOK_URL', 'PORT']);
    expect(calls.has('readJetboxEnv')).to.equal(true);
    expect(envDefault('config.ts', 'PORT', text)).to.equal('3001');
    expect(envDefault('config.ts', 'NOTIFIER_CONSUMER', text)).to.equal('notifier');
    expect(envDefault('config.ts', 'NOTIFIER_WEBHOOK_URL', text)).to.equal(undefined);
  });

  it('reads numeric constants', () => {
    expect(constantValue('config.ts', 'DEFAULT_PORT', CONFIG)).to.equal('3001');
    expect(constantValue('config.ts', 'MISSING', CONFIG)).to.equal(undefined);
  });
});
