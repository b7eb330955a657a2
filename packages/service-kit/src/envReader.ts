import { ConfigError } from './ConfigError.js';

type Env = Record<string, string | undefined>;

/** Typed reads of environment variables; each failure is a `ConfigError` naming the variable. */
export interface EnvReader {
  /** The trimmed value, or undefined when unset or blank. */
  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  integer(name: string, fallback: number, min: number, max: number): number;
  boolean(name: string, fallback: boolean): boolean;
  /** An absolute http(s) URL without a trailing slash. */
  httpUrl(name: string, fallback: string): string;
  httpUrl(name: string): string | undefined;
}

export function envReader(env: Env): EnvReader {
  function string(name: string): string | undefined;
  function string(name: string, fallback: string): string;
  function string(name: string, fallback?: string) {
    const v = env[name]?.trim();
    return v ? v : fallback;
  }
  function httpUrl(name: string): string | undefined;
  function httpUrl(name: string, fallback: string): string;
  function httpUrl(name: string, fallback?: string) {
    const raw = string(name);
    if (raw === undefined) return fallback;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(name, `must be an http or https URL, got "${raw}"`);
    }
    return raw.replace(/\/+$/, '');
  }
  return {
    string,
    httpUrl,
    integer(name, fallback, min, max) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
      }
      return n;
    },
    boolean(name, fallback) {
      const raw = string(name);
      if (raw === undefined) return fallback;
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      throw new ConfigError(name, `must be true or false, got "${raw}"`);
    },
  };
}
