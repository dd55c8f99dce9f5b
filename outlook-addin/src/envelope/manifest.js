// The manifest, part 0 of every envelope (docs/envelope.md §6): UTF-8 JSON exactly as the Rust
// crate's serde writes it (`envelope/src/manifest.rs`): compact, fields in declaration order,
// absent optionals (`message_id`, `text`, `html`, `content_id`) left out rather than null.
// The test vectors' manifest bytes pin this.
//
// BCC recipients are never in the manifest: everyone who can open the envelope can read it.

import { isLength, utf8 } from "./bytes.js";
import { EnvelopeError } from "./errors.js";

const MANIFEST_VERSION = 1;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SURROGATE = /[\ud800-\udfff]/;

/**
 * The manifest's UTF-8 JSON. Takes the delivery slip's fields (a `bcc` among them is ignored:
 * only what is named here is written) and the attachments' descriptions in part order.
 */
export function buildManifest({
  from, to = [], cc = [], subject = "", date, messageId, headers = [], text, html,
  attachments = [],
}) {
  const manifest = {
    version: MANIFEST_VERSION,
    metadata: withoutAbsent({
      from: requireString("from", from),
      to: stringList("to", to),
      cc: stringList("cc", cc),
      subject: requireString("subject", subject),
      date: requireString("date (RFC 3339, like 2026-11-22T10:00:00Z)", date),
      message_id: optionalString("messageId", messageId),
      headers: headerPairs(headers),
    }),
    body: withoutAbsent({
      text: optionalString("text", text),
      html: optionalString("html", html),
    }),
    attachments: listOf("attachments", attachments).map(attachmentEntry),
  };
  return utf8(JSON.stringify(manifest));
}

function attachmentEntry(attachment, index) {
  const what = `attachments[${index}]`;
  const { name, contentType, size, contentId, sha256 } = attachment || {};
  if (!isLength(size)) {
    throw badManifest(`${what}.size must be the attachment's length in bytes`);
  }
  if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
    throw badManifest(`${what}.sha256 must be 64 lowercase hex digits`);
  }
  return withoutAbsent({
    part: index + 1,
    name: requireString(`${what}.name`, name),
    content_type: requireString(`${what}.contentType`, contentType),
    size,
    content_id: optionalString(`${what}.contentId`, contentId),
    sha256,
  });
}

function headerPairs(headers) {
  return listOf("headers", headers).map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw badManifest(`headers[${i}] must be a [name, value] pair`);
    }
    return [requireString(`headers[${i}][0]`, pair[0]), requireString(`headers[${i}][1]`, pair[1])];
  });
}

function stringList(what, list) {
  return listOf(what, list).map((s, i) => requireString(`${what}[${i}]`, s));
}

function listOf(what, list) {
  if (!Array.isArray(list)) {
    throw badManifest(`${what} must be a list`);
  }
  return list;
}

function requireString(what, value) {
  if (typeof value !== "string") {
    throw badManifest(`${what} must be a string`);
  }
  return wellFormed(value);
}

/** A string, or `undefined` (left out of the JSON) for null and undefined. */
function optionalString(what, value) {
  return value == null ? undefined : requireString(what, value);
}

/** Drops the keys whose value is `undefined`, keeping the order of the others. */
function withoutAbsent(object) {
  const out = {};
  for (const key of Object.keys(object)) {
    if (object[key] !== undefined) {
      out[key] = object[key];
    }
  }
  return out;
}

/**
 * Replaces unpaired UTF-16 surrogates with U+FFFD, as a UTF-8 encoder does. Without this,
 * JSON.stringify writes them as `\udXXX` escapes, which are not Unicode and which the
 * platform's JSON parser (serde_json) refuses, so the message could never be opened.
 */
function wellFormed(text) {
  if (!SURROGATE.test(text)) {
    return text;
  }
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const high = unit >= 0xd800 && unit <= 0xdbff;
    const next = text.charCodeAt(i + 1);
    if (high && next >= 0xdc00 && next <= 0xdfff) {
      out += text[i] + text[i + 1];
      i++;
    } else {
      out += unit >= 0xd800 && unit <= 0xdfff ? "\ufffd" : text[i];
    }
  }
  return out;
}

function badManifest(message) {
  return new EnvelopeError("bad_manifest", `manifest is invalid: ${message}`);
}
