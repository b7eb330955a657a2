/** Prefix of CloudEvents attribute headers in binary mode: `ce-id`, `ce-type`, … */
export const CE_HEADER_PREFIX = 'ce-';
/** Content type of a structured-mode message (JSON event format). */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
/** `datacontenttype` of events whose data jetbox serialised as JSON. */
export const JSON_CONTENT_TYPE = 'application/json';

const JSON_MEDIA_TYPE = /^[^;]*[/+]json\s*(?:;|$)/i;
const TEXT_MEDIA_TYPE = /^\s*text\//i;

/** `application/json`, `application/vnd.x+json; charset=utf-8`, … */
export function isJsonContentType(contentType: string): boolean {
  return JSON_MEDIA_TYPE.test(contentType);
}

export function isTextContentType(contentType: string): boolean {
  return TEXT_MEDIA_TYPE.test(contentType);
}

/** The media type without parameters, lower-cased: `Application/JSON; charset=x` → `application/json`. */
export function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
