import { readFile } from 'node:fs/promises';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { JetboxError } from '../errors.js';
import { findNkeySeed, resolveNatsOptions, type NatsConnectionOptions } from './natsOptions.js';

/**
 * nats.js connection options for `options`, with the files (creds, NKey seed, TLS) read now so
 * a missing or unreadable file fails naming its option instead of deep inside the connect.
 */
export async function natsConnectOptions(
  input: Partial<NatsConnectionOptions>,
): Promise<ConnectionOptions> {
  const options = resolveNatsOptions(input);
  const out: ConnectionOptions = {
    servers: options.servers,
    // jetbox never inspects async stack traces; capturing them costs on every request.
    noAsyncTraces: true,
    maxReconnectAttempts: options.maxReconnectAttempts,
    reconnectTimeWait: options.reconnectTimeWaitMs,
    timeout: options.timeoutMs,
    waitOnFirstConnect: options.waitOnFirstConnect,
  };
  if (options.name !== undefined) out.name = options.name;
  if (options.user !== undefined) {
    out.user = options.user;
    out.pass = options.pass;
  }
  if (options.token !== undefined) out.token = options.token;
  if (options.nkeySeed !== undefined) {
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed.trim()));
  }
  if (options.nkeyFile !== undefined) {
    const seed = findNkeySeed(await readOption('nats.nkeyFile', options.nkeyFile));
    if (seed === undefined) {
      throw JetboxError.invalidOption('nats.nkeyFile', `${options.nkeyFile} holds no NKey seed`);
    }
    out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (options.credsFile !== undefined) {
    const creds = await readOption('nats.credsFile', options.credsFile);
    if (!/-----BEGIN NATS USER JWT-----/.test(creds)) {
      throw JetboxError.invalidOption(
        'nats.credsFile',
        `${options.credsFile} is not a NATS credentials file`,
      );
    }
    out.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  }
  if (options.tls !== undefined) {
    const { caFile, certFile, keyFile } = options.tls;
    out.tls = {
      ...(caFile ? { ca: await readOption('nats.tls.caFile', caFile) } : {}),
      ...(certFile ? { cert: await readOption('nats.tls.certFile', certFile) } : {}),
      ...(keyFile ? { key: await readOption('nats.tls.keyFile', keyFile) } : {}),
    };
  }
  return out;
}

/** Connects to NATS with jetbox's options (see {@link resolveNatsOptions}). */
export async function connectNats(
  options: Partial<NatsConnectionOptions> = {},
): Promise<NatsConnection> {
  return connect(await natsConnectOptions(options));
}

async function readOption(property: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw JetboxError.invalidOption(property, `cannot read ${path}: ${(err as Error).message}`);
  }
}
