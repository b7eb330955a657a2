import { DEFAULT_NATS_URL } from '../config.js';
import { JetboxError } from '../errors.js';

/** TLS files for the NATS connection (PEM). */
export interface NatsTlsOptions {
  /** CA certificate(s) to verify the server with. @defaultValue the system's */
  caFile?: string;
  /** Client certificate, for servers that verify clients; needs `keyFile`. @defaultValue none */
  certFile?: string;
  /** Private key of `certFile`. @defaultValue none */
  keyFile?: string;
}

/** How jetbox connects to NATS. Use at most one of user/pass, token, NKey, creds. */
export interface NatsConnectionOptions {
  /** Server URLs; the client also learns a cluster's other servers. @defaultValue `['nats://127.0.0.1:4222']` */
  servers: string[];
  /** Connection name shown by the server's monitoring. @defaultValue none */
  name?: string;
  /** @defaultValue none */
  user?: string;
  /** @defaultValue none */
  pass?: string;
  /** @defaultValue none */
  token?: string;
  /** NKey seed (`SU…`). @defaultValue none */
  nkeySeed?: string;
  /** File holding an NKey seed. @defaultValue none */
  nkeyFile?: string;
  /** Credentials file (JWT + NKey seed), as `nsc` writes it. @defaultValue none */
  credsFile?: string;
  /** @defaultValue none (TLS only if the server requires it or a URL says `tls://`) */
  tls?: NatsTlsOptions;
  /** Reconnect attempts per server; -1 retries forever, so a NATS outage never ends the process. @defaultValue -1 */
  maxReconnectAttempts: number;
  /** Pause between reconnect attempts to one server (plus jitter). @defaultValue 1000 ms */
  reconnectTimeWaitMs: number;
  /** Timeout of the first connection. @defaultValue 5000 ms */
  timeoutMs: number;
  /** Keep retrying the first connection instead of failing, for processes that start before NATS. @defaultValue false */
  waitOnFirstConnect: boolean;
}

/** @defaultValue -1 (forever) */
export const DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS = -1;
/** @defaultValue 1000 ms */
export const DEFAULT_NATS_RECONNECT_TIME_WAIT_MS = 1000;
/** @defaultValue 5000 ms */
export const DEFAULT_NATS_TIMEOUT_MS = 5000;

const SEED = /^S[A-Z][A-Z2-7]{56}$/;
const SCHEMES = new Set(['nats:', 'tls:']);

/** Merges `input` over the defaults and validates; throws naming the property, e.g. `nats.servers[1]`. */
export function resolveNatsOptions(
  input: Partial<NatsConnectionOptions> = {},
): NatsConnectionOptions {
  const fail = (property: string, problem: string) =>
    JetboxError.invalidOption(`nats.${property}`, problem);
  const servers = input.servers ?? [DEFAULT_NATS_URL];
  if (!Array.isArray(servers) || servers.length === 0)
    throw fail('servers', 'must list at least one server URL');
  servers.forEach((server, i) => {
    const problem = serverUrlProblem(server);
    if (problem) throw fail(`servers[${i}]`, problem);
  });
  const options: NatsConnectionOptions = {
    servers: [...servers],
    maxReconnectAttempts: input.maxReconnectAttempts ?? DEFAULT_NATS_MAX_RECONNECT_ATTEMPTS,
    reconnectTimeWaitMs: input.reconnectTimeWaitMs ?? DEFAULT_NATS_RECONNECT_TIME_WAIT_MS,
    timeoutMs: input.timeoutMs ?? DEFAULT_NATS_TIMEOUT_MS,
    waitOnFirstConnect: input.waitOnFirstConnect ?? false,
  };
  for (const key of [
    'name',
    'user',
    'pass',
    'token',
    'nkeySeed',
    'nkeyFile',
    'credsFile',
  ] as const) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw fail(key, 'must be a non-empty string');
    options[key] = value;
  }
  if ((options.user === undefined) !== (options.pass === undefined)) {
    throw fail(
      options.user === undefined ? 'user' : 'pass',
      'user and pass must be given together',
    );
  }
  const methods = [
    options.user !== undefined && 'user/pass',
    options.token !== undefined && 'token',
    options.nkeySeed !== undefined && 'nkeySeed',
    options.nkeyFile !== undefined && 'nkeyFile',
    options.credsFile !== undefined && 'credsFile',
  ].filter((m): m is string => m !== false);
  if (methods.length > 1) {
    throw fail(
      methods[1]!.replace('user/pass', 'user'),
      `use one authentication method, got ${methods.join(' and ')}`,
    );
  }
  if (options.nkeySeed !== undefined && !SEED.test(options.nkeySeed.trim())) {
    throw fail('nkeySeed', 'must be an NKey seed (58 characters starting with S)');
  }
  if (input.tls !== undefined) {
    const tls: NatsTlsOptions = {};
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      const value = input.tls[key];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value === '')
        throw fail(`tls.${key}`, 'must be a non-empty file path');
      tls[key] = value;
    }
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      throw fail(
        tls.certFile === undefined ? 'tls.certFile' : 'tls.keyFile',
        'certFile and keyFile must be given together',
      );
    }
    options.tls = tls;
  }
  if (!Number.isInteger(options.maxReconnectAttempts) || options.maxReconnectAttempts < -1) {
    throw fail(
      'maxReconnectAttempts',
      `must be an integer ≥ 0, or -1 for forever, got ${options.maxReconnectAttempts}`,
    );
  }
  for (const key of ['reconnectTimeWaitMs', 'timeoutMs'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) {
      throw fail(key, `must be a positive integer number of milliseconds, got ${options[key]}`);
    }
  }
  if (typeof options.waitOnFirstConnect !== 'boolean')
    throw fail('waitOnFirstConnect', 'must be a boolean');
  return options;
}

/**
 * NATS options from environment variables: `NATS_URL` (comma-separated), `NATS_USER`,
 * `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CREDS` (file), `NATS_NKEY` (seed file, or the seed
 * itself), `NATS_TLS_CA`, `NATS_TLS_CERT`, `NATS_TLS_KEY` (files). Empty variables count as unset.
 * Pass the result to {@link resolveNatsOptions}.
 */
export function natsOptionsFromEnv(
  env: Record<string, string | undefined>,
): Partial<NatsConnectionOptions> {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const out: Partial<NatsConnectionOptions> = {};
  const url = get('NATS_URL');
  if (url)
    out.servers = url
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const user = get('NATS_USER');
  if (user) out.user = user;
  // Passwords may legitimately start or end with spaces: only an empty one counts as unset.
  const pass = env.NATS_PASSWORD;
  if (pass) out.pass = pass;
  const token = get('NATS_TOKEN');
  if (token) out.token = token;
  const creds = get('NATS_CREDS');
  if (creds) out.credsFile = creds;
  const nkey = get('NATS_NKEY');
  if (nkey) {
    if (SEED.test(nkey)) out.nkeySeed = nkey;
    else out.nkeyFile = nkey;
  }
  const tls: NatsTlsOptions = {};
  const ca = get('NATS_TLS_CA');
  if (ca) tls.caFile = ca;
  const cert = get('NATS_TLS_CERT');
  if (cert) tls.certFile = cert;
  const key = get('NATS_TLS_KEY');
  if (key) tls.keyFile = key;
  if (Object.keys(tls).length > 0) out.tls = tls;
  return out;
}

function serverUrlProblem(server: unknown): string | undefined {
  if (typeof server !== 'string' || server.trim() === '') return 'must be a non-empty URL';
  const withScheme = server.includes('://') ? server : `nats://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return `is not a URL: ${server}`;
  }
  if (!SCHEMES.has(url.protocol)) return `must use nats:// or tls://, got ${url.protocol}//`;
  if (!url.hostname) return `has no host: ${server}`;
  return undefined;
}

/** The NKey seed in a seed file's text (which may hold comments around it), if any. */
export function findNkeySeed(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const candidate = line.trim();
    if (SEED.test(candidate)) return candidate;
  }
  return undefined;
}
