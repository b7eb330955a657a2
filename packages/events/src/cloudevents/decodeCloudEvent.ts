import type { MsgHdrs } from '@nats-io/nats-core';
import { CloudEvent, ValidationError } from 'cloudevents';
import { JetboxError, JetboxErrorCode } from '../errors.js';
import {
  CE_HEADER_PREFIX,
  isJsonContentType,
  isTextContentType,
  mediaTypeOf,
} from './contentTypes.js';
import { decodeHeaderValue } from './headerValues.js';

/** What `decodeCloudEvent` needs of a NATS message; a core `Msg` and a `JsMsg` both fit. */
export interface CloudEventMessage {
  headers?: MsgHdrs;
  data: Uint8Array;
}

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
const OPEN_BRACE = 0x7b;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a NATS message into a validated SDK `CloudEvent`, in either content mode of the
 * CloudEvents NATS protocol binding: structured when `Content-Type` is
 * `application/cloudevents[+json]`, binary when `ce-*` headers are present; a message with
 * neither but a JSON object body is read as structured (producers that predate headers).
 * Header names are matched case-insensitively. In binary mode, data is parsed as JSON for a JSON
 * `datacontenttype`, read as a string for `text/*`, and kept as bytes otherwise.
 *
 * As with the SDK, an event without `time` gets the decoding time.
 * Throws a `JetboxError` with code `DECODE_FAILED` whose message says what is wrong.
 */
export function decodeCloudEvent(msg: CloudEventMessage): CloudEvent<unknown> {
  const { ce, contentType } = readHeaders(msg.headers);
  if (contentType !== undefined && mediaTypeOf(contentType).startsWith('application/cloudevents')) {
    const mediaType = mediaTypeOf(contentType);
    if (mediaType !== 'application/cloudevents+json' && mediaType !== 'application/cloudevents') {
      throw failed(
        `unsupported content type ${contentType}: structured mode must be application/cloudevents+json`,
      );
    }
    return decodeStructured(msg.data);
  }
  if (ce.size > 0) return decodeBinary(ce, contentType, msg.data);
  if (msg.data[firstNonSpace(msg.data)] === OPEN_BRACE) return decodeStructured(msg.data);
  throw failed(
    'not a CloudEvent: no ce-* headers and no application/cloudevents+json content type',
  );
}

function decodeBinary(
  ce: Map<string, string>,
  contentType: string | undefined,
  body: Uint8Array,
): CloudEvent<unknown> {
  const attributes: Record<string, unknown> = {};
  for (const [header, raw] of ce) {
    const name = header.slice(CE_HEADER_PREFIX.length);
    if (!ATTRIBUTE_NAME.test(name)) {
      throw failed(`header ${header}: attribute names must be lower-case a-z and 0-9`);
    }
    try {
      attributes[name] = decodeHeaderValue(raw);
    } catch (err) {
      throw failed(`header ${header}: ${describeValueError(err)}`, err);
    }
  }
  checkRequired(attributes, 'header ce-');
  // A producer following the HTTP binding's habit may send only Content-Type.
  if (attributes.datacontenttype === undefined && contentType !== undefined) {
    attributes.datacontenttype = contentType;
  }
  if (body.length > 0) attributes.data = binaryData(attributes, body);
  return toCloudEvent(attributes);
}

function decodeStructured(body: Uint8Array): CloudEvent<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw failed(`bad JSON body in structured mode: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw failed('structured mode body must be a JSON object');
  }
  const attributes = { ...(parsed as Record<string, unknown>) };
  for (const name of Object.keys(attributes)) {
    if (name !== 'data_base64' && name !== 'data' && !ATTRIBUTE_NAME.test(name)) {
      throw failed(`attribute name ${JSON.stringify(name)} must be lower-case a-z and 0-9`);
    }
  }
  checkRequired(attributes, '');
  const base64 = attributes.data_base64;
  if (base64 !== undefined) {
    if (attributes.data !== undefined)
      throw failed(eventLabel(attributes, 'has both data and data_base64'));
    if (typeof base64 !== 'string')
      throw failed(eventLabel(attributes, 'data_base64 must be a string'));
    attributes.data = new Uint8Array(Buffer.from(base64, 'base64'));
    delete attributes.data_base64;
  }
  return toCloudEvent(attributes);
}

function readHeaders(headers: MsgHdrs | undefined): {
  ce: Map<string, string>;
  contentType: string | undefined;
} {
  const ce = new Map<string, string>();
  let contentType: string | undefined;
  if (headers === undefined) return { ce, contentType };
  for (const [key, values] of headers) {
    const name = key.toLowerCase();
    const isCe = name.startsWith(CE_HEADER_PREFIX);
    if (!isCe && name !== 'content-type') continue;
    if (values.length !== 1 || (isCe ? ce.has(name) : contentType !== undefined)) {
      throw failed(`header ${name} appears more than once`);
    }
    if (isCe) ce.set(name, values[0]!);
    else contentType = values[0];
  }
  return { ce, contentType };
}

function checkRequired(attributes: Record<string, unknown>, prefix: string): void {
  const specversion = attributes.specversion;
  if (specversion === undefined) throw failed(`missing ${prefix}specversion`);
  if (specversion !== '1.0') {
    throw failed(
      `invalid ${prefix}specversion ${JSON.stringify(specversion)}: only 1.0 is supported`,
    );
  }
  for (const name of ['id', 'source', 'type']) {
    const value = attributes[name];
    if (value === undefined || value === '') throw failed(`missing ${prefix}${name}`);
    if (typeof value !== 'string') throw failed(`${prefix}${name} must be a string`);
  }
}

function binaryData(attributes: Record<string, unknown>, body: Uint8Array): unknown {
  const contentType = attributes.datacontenttype;
  if (typeof contentType !== 'string') return body.slice();
  const json = isJsonContentType(contentType);
  if (!json && !isTextContentType(contentType)) return body.slice();
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (err) {
    throw failed(eventLabel(attributes, `body is not UTF-8 (datacontenttype ${contentType})`), err);
  }
  if (!json) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw failed(eventLabel(attributes, `bad JSON body: ${(err as Error).message}`), err);
  }
}

function toCloudEvent(attributes: Record<string, unknown>): CloudEvent<unknown> {
  try {
    return new CloudEvent<unknown>(attributes, true);
  } catch (err) {
    throw failed(eventLabel(attributes, `invalid CloudEvent: ${describeSdkError(err)}`), err);
  }
}

function describeSdkError(err: unknown): string {
  if (err instanceof ValidationError && Array.isArray(err.errors) && err.errors.length > 0) {
    return err.errors
      .map((e) => {
        if (typeof e !== 'object' || e === null) return String(e);
        const { instancePath, message } = e as { instancePath?: string; message?: string };
        const path = instancePath ? instancePath.replace(/^\//, '') : 'event';
        return `${path} ${message ?? JSON.stringify(e)}`;
      })
      .join('; ');
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

function describeValueError(err: unknown): string {
  if (err instanceof URIError) return 'percent-encoded bytes are not valid UTF-8';
  return err instanceof Error ? err.message : String(err);
}

function firstNonSpace(data: Uint8Array): number {
  let i = 0;
  while (
    i < data.length &&
    (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)
  )
    i++;
  return i;
}

function eventLabel(attributes: Record<string, unknown>, problem: string): string {
  return typeof attributes.id === 'string' ? `event ${attributes.id}: ${problem}` : problem;
}

function failed(problem: string, cause?: unknown): JetboxError {
  return new JetboxError(
    JetboxErrorCode.DecodeFailed,
    `cannot decode CloudEvent: ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}
