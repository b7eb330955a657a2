/**
 * Header value encoding of the CloudEvents NATS protocol binding (§3.1.3.2), which matches the
 * HTTP binding's: space, `"`, `%` and everything outside printable ASCII (U+0021–U+007E) is
 * percent-encoded as UTF-8 with upper-case hex; everything else is left alone, so typical
 * values (ids, URIs, types, trace context) pass through untouched.
 */

// Characters that MUST be encoded, in runs, so multi-byte characters stay together.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]+/g;
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * Percent-encodes an attribute's canonical string for a NATS header.
 * Throws `URIError` for a lone UTF-16 surrogate, which is not a Unicode character and so
 * cannot appear in a CloudEvents string.
 */
export function encodeHeaderValue(value: string): string {
  // A char-code scan is several times faster than a regex test on these short strings, and
  // nearly every value (ids, URIs, types, trace context) needs no encoding at all.
  let i = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x25) break;
  }
  if (i === value.length) return value;
  // encodeURIComponent leaves only [A-Za-z0-9-_.!~*'()] alone, none of which is in a run here,
  // so each run becomes exactly its UTF-8 bytes as %XY.
  return value.replace(NEEDS_ENCODING, encodeURIComponent);
}

/**
 * Decodes a header value: first RFC 7230 double-quoted strings (older producers quoted values
 * instead of encoding spaces and quotes), then one round of percent-decoding. Throws `URIError`
 * for percent-encoded bytes that are not valid UTF-8 (including overlong forms such as `%C0%A0`)
 * and `SyntaxError` for an unterminated quoted string.
 */
export function decodeHeaderValue(value: string): string {
  const unquoted = value.includes('"') ? unquote(value) : value;
  if (!unquoted.includes('%')) return unquoted;
  // A `%` not followed by two hex digits is kept literally: the spec does not allow it, but
  // refusing the whole event over it would help nobody.
  return unquoted.replace(PERCENT_RUN, decodeURIComponent);
}

function unquote(value: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') {
      quoted = !quoted;
    } else if (c === '\\' && quoted) {
      i++;
      if (i >= value.length) break;
      out += value[i];
    } else {
      out += c;
    }
  }
  if (quoted) throw new SyntaxError('unterminated quoted string');
  return out;
}
