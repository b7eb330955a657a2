import type { NatsConnection } from '@nats-io/nats-core';
import { JetboxError, JetboxErrorCode } from '../errors.js';

/** What the connected nats-server supports that jetbox adapts to. */
export interface ServerFeatures {
  /** e.g. `2.9.10` */
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** JetStream is enabled on the server. */
  jetstream: boolean;
  /** Consumers with several filter subjects (`filter_subjects`), 2.10+. */
  multiFilter: boolean;
  /** `metadata` on streams and consumers, 2.10+. */
  metadata: boolean;
  /** `term(reason)`: a reason with the terminate ack, 2.10+; before, use plain `term()`. */
  termReason: boolean;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)/;

/** Features of a server `version` such as `2.9.10` or `v2.10.0-beta.3`. */
export function serverFeaturesOf(version: string, jetstream = true): ServerFeatures {
  const match = VERSION.exec(version);
  if (!match) {
    throw new JetboxError(
      JetboxErrorCode.InvalidOptions,
      `cannot parse nats-server version ${JSON.stringify(version)}`,
    );
  }
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const v210 = major > 2 || (major === 2 && minor >= 10);
  return {
    version,
    major,
    minor,
    patch,
    jetstream,
    multiFilter: v210,
    metadata: v210,
    termReason: v210,
  };
}

/**
 * Features of the server `nc` is connected to, from its INFO. In a cluster of mixed versions
 * this is the connected server's; upgrade every server before relying on a 2.10 feature.
 */
export async function serverFeatures(nc: NatsConnection): Promise<ServerFeatures> {
  const info = nc.info;
  if (!info) {
    throw new JetboxError(
      JetboxErrorCode.NotStarted,
      'NATS connection has no server info (not connected)',
    );
  }
  return Promise.resolve(serverFeaturesOf(info.version, info.jetstream === true));
}
