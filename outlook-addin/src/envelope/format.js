// The envelope's wire layout (docs/envelope.md §4–§5): its constants, the header's bytes, and
// the length of every part. The normative owner is the Rust crate's `envelope/src/format.rs`;
// this file restates it for the add-in and is pinned to it by the shared test vectors
// (`envelope/tests/vectors/`), which the add-in's tests check byte for byte.

import { isLength, setUint64 } from "./bytes.js";
import { usageError } from "./errors.js";

export const MAGIC = "SEALPOST";
export const VERSION = 1;
export const DEFAULT_CHUNK_SIZE = 65536;
export const MIN_CHUNK_SIZE = 64;
export const MAX_CHUNK_SIZE = 4194304;
/** An AES-GCM tag: every chunk is its plaintext's length plus this. */
export const TAG_LEN = 16;
export const MAC_LEN = 32;
export const SALT_LEN = 16;
export const FILE_KEY_LEN = 32;
export const MESSAGE_ID_LEN = 16;
export const KEY_ID_LEN = 32;
/** Wrapped-key lengths an RSA-3072..8192 modulus gives. */
export const MIN_WRAPPED_LEN = 384;
export const MAX_WRAPPED_LEN = 1024;
/** Counts in the header are u16. */
const MAX_COUNT = 0xffff;

const ALG_RSA_OAEP_SHA256 = 1;
/** Stanza role bytes, by the role names the platform's API uses. */
export const STANZA_ROLES = { platform: 1, recipient: 2, sender: 3, compliance: 4 };
const PART_KIND_MANIFEST = 0;
const PART_KIND_ATTACHMENT = 1;

// magic, version, flags, header_len, message_id, chunk_size, stanza_count
const FIXED_PREFIX_LEN = 8 + 1 + 1 + 4 + MESSAGE_ID_LEN + 4 + 2;
// role, alg, key_id, wrapped_len
const STANZA_FIXED_LEN = 1 + 1 + KEY_ID_LEN + 2;
// kind, len, salt
const PART_ENTRY_LEN = 1 + 8 + SALT_LEN;

/** Throws unless `chunkSize` is a power of two from 64 B to 4 MiB. */
export function checkChunkSize(chunkSize) {
  const ok = Number.isInteger(chunkSize) && chunkSize >= MIN_CHUNK_SIZE
    && chunkSize <= MAX_CHUNK_SIZE && (chunkSize & (chunkSize - 1)) === 0;
  if (!ok) {
    throw usageError(`chunk size ${chunkSize} is not a power of two from 64 to 4194304 bytes`);
  }
}

/** Number of chunks of a part of `len` bytes: at least 1 (an empty part is one empty chunk). */
export function chunkCount(len, chunkSize) {
  return Math.max(1, Math.ceil(len / chunkSize));
}

/** Ciphertext length of a part: its plaintext plus one tag per chunk. */
export function partCiphertextLength(len, chunkSize) {
  return len + TAG_LEN * chunkCount(len, chunkSize);
}

/** Header length, MAC included, for stanzas of these wrapped lengths and this many parts. */
export function headerLength(wrappedLengths, partCount) {
  let len = FIXED_PREFIX_LEN + 2 + PART_ENTRY_LEN * partCount + MAC_LEN;
  for (const wrapped of wrappedLengths) {
    len += STANZA_FIXED_LEN + wrapped;
  }
  return len;
}

/**
 * The exact envelope length for stanzas of these wrapped lengths and parts of these plaintext
 * lengths (manifest first). Checks every count and length against what the header can hold.
 */
export function envelopeLength(wrappedLengths, partLengths, chunkSize) {
  checkChunkSize(chunkSize);
  checkCount("key stanzas", wrappedLengths.length);
  checkCount("parts (the manifest and the attachments)", partLengths.length);
  for (const wrapped of wrappedLengths) {
    if (!Number.isInteger(wrapped) || wrapped < MIN_WRAPPED_LEN || wrapped > MAX_WRAPPED_LEN) {
      throw usageError(`a wrapped key of ${wrapped} bytes is not that of an RSA-3072..8192 key`);
    }
  }
  let total = headerLength(wrappedLengths, partLengths.length);
  for (const len of partLengths) {
    if (!isLength(len)) {
      throw usageError(`part length ${len} is not a whole number of bytes`);
    }
    total += partCiphertextLength(len, chunkSize);
  }
  if (!Number.isSafeInteger(total)) {
    throw usageError("the envelope would be larger than 2^53 bytes");
  }
  return total;
}

function checkCount(what, count) {
  if (count < 1 || count > MAX_COUNT) {
    throw usageError(`an envelope holds 1 to ${MAX_COUNT} ${what}, not ${count}`);
  }
}

/**
 * The header's bytes with its MAC field still zero (the caller MACs everything before it):
 * `stanzas` are `{role, keyId, wrapped}` (role a name of STANZA_ROLES, keyId and wrapped
 * bytes), `parts` are `{len, salt}`, manifest first.
 */
export function encodeHeader({ messageId, chunkSize, stanzas, parts }) {
  const length = headerLength(stanzas.map(s => s.wrapped.length), parts.length);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const put = source => {
    bytes.set(source, at);
    at += source.length;
  };
  put(Array.from(MAGIC, c => c.charCodeAt(0)));
  put([VERSION, 0]); // version, flags
  view.setUint32(at, length);
  at += 4;
  put(messageId);
  view.setUint32(at, chunkSize);
  view.setUint16(at + 4, stanzas.length);
  at += 6;
  for (const stanza of stanzas) {
    put([STANZA_ROLES[stanza.role], ALG_RSA_OAEP_SHA256]);
    put(stanza.keyId);
    view.setUint16(at, stanza.wrapped.length);
    at += 2;
    put(stanza.wrapped);
  }
  view.setUint16(at, parts.length);
  at += 2;
  parts.forEach((part, index) => {
    put([index === 0 ? PART_KIND_MANIFEST : PART_KIND_ATTACHMENT]);
    setUint64(view, at, part.len);
    at += 8;
    put(part.salt);
  });
  return bytes;
}
