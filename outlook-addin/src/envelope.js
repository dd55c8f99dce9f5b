// The Outlook add-in's envelope writer: seals a message (manifest and attachments) into a
// Sealpost envelope with WebCrypto, byte for byte the format the Rust crate `sealpost-envelope`
// writes (docs/envelope.md is normative; `envelope/tests/vectors/` pins it). Runs in a browser
// and in Node ≥ 20 (WebCrypto's `crypto.subtle`), without dependencies.
//
// This file is the public face, and owns the order of sealing; the rooms behind it each own
// one piece of the format: envelope/format.js (layout and header bytes), envelope/keys.js (RSA
// keys, key ids, wrapping), envelope/stream.js (key derivation and STREAM chunking),
// envelope/manifest.js (part 0's JSON).

import { fromHex, subtle, toHex } from "./envelope/bytes.js";
import { EnvelopeError, usageError } from "./envelope/errors.js";
import {
  DEFAULT_CHUNK_SIZE, FILE_KEY_LEN, MAC_LEN, MESSAGE_ID_LEN, SALT_LEN, STANZA_ROLES,
  checkChunkSize, encodeHeader, envelopeLength,
} from "./envelope/format.js";
import { importRecipientKey, keyIdOf, wrapFileKey } from "./envelope/keys.js";
import { buildManifest } from "./envelope/manifest.js";
import { deriveHeaderMacKey, derivePartKey, hmac, importFileKey, sealPart } from "./envelope/stream.js";
import { globalObject } from "./global.js";

export { DEFAULT_CHUNK_SIZE, EnvelopeError, buildManifest, keyIdOf };

/** Bytes of the RSA-OAEP seed the Rust writer draws per stanza (one SHA-256 output). */
const OAEP_SEED_LEN = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_128 = /^[0-9a-f]{32}$/i;
// Where a runtime predates Symbol.asyncIterator, esbuild's lowered `for await` looks for this.
const ASYNC_ITERATOR = Symbol.asyncIterator || Symbol.for("Symbol.asyncIterator");

/** Lowercase hex SHA-256 of bytes (an attachment's `sha256` in the manifest). */
export async function sha256Hex(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw usageError("sha256Hex takes a Uint8Array");
  }
  return toHex(new Uint8Array(await subtle().digest("SHA-256", bytes)));
}

/**
 * The exact length of an envelope with stanzas of these wrapped lengths (each the RSA
 * modulus in bytes) and parts of these plaintext lengths (the manifest's, then each
 * attachment's), before anything is sealed.
 */
export function envelopeSize({ stanzas, partLengths, chunkSize = DEFAULT_CHUNK_SIZE }) {
  if (!Array.isArray(stanzas) || !Array.isArray(partLengths)) {
    throw usageError("envelopeSize needs the list of wrapped-key lengths and of part lengths");
  }
  return envelopeLength(stanzas, partLengths, chunkSize);
}

/**
 * Seals a message. Returns at once with the envelope's exact size and the key ids of its
 * stanzas (in the order of `keys`); `pieces` then yields the header and every chunk in order,
 * sealing each only when it is pulled, and can be read once.
 *
 * `messageId`: 16 bytes or a UUID string. `manifest`: buildManifest's bytes. `attachments`:
 * their bytes in the manifest's order. `keys`: `[{role, publicKeyPem}]`, a platform key among
 * them. `random(n)`: n random bytes; only tests inject it.
 */
export async function sealEnvelope({
  messageId, manifest, attachments = [], keys, chunkSize = DEFAULT_CHUNK_SIZE,
  random = systemRandom,
}) {
  checkChunkSize(chunkSize);
  const id = messageIdBytes(messageId);
  const parts = partPlaintexts(manifest, attachments);
  const recipients = await importStanzaKeys(keys);
  const size = envelopeLength(
    recipients.map(r => r.wrappedLength),
    parts.map(p => p.length),
    chunkSize,
  );

  // Random bytes are drawn in the Rust writer's order: the file key, one OAEP seed per stanza,
  // one salt per part, so that a test's injected stream reproduces the vectors. WebCrypto
  // draws its own OAEP seed and cannot be given one, so each stanza's 32 bytes are drawn and
  // discarded: the wrapped keys, and the header MAC over them, are then the only bytes that
  // differ from Rust's.
  const draw = randomSource(random);
  const fileKeyBytes = draw(FILE_KEY_LEN);
  recipients.forEach(() => draw(OAEP_SEED_LEN));
  const salts = parts.map(() => draw(SALT_LEN));

  let stanzas;
  let fileKey;
  try {
    stanzas = await Promise.all(recipients.map(r => stanzaFor(r, fileKeyBytes)));
    fileKey = await importFileKey(fileKeyBytes);
  } finally {
    fileKeyBytes.fill(0); // From here on the file key lives only inside WebCrypto.
  }
  const header = await macedHeader(fileKey, {
    messageId: id,
    chunkSize,
    stanzas,
    parts: parts.map((p, i) => ({ len: p.length, salt: salts[i] })),
  });
  return {
    envelopeSize: size,
    keyIds: recipients.map(r => toHex(r.keyId)),
    pieces: readOnce(() => envelopePieces(header, fileKey, parts, salts, chunkSize)),
  };
}

/** The header, then each part's chunks in order, each sealed when pulled. */
async function* envelopePieces(header, fileKey, parts, salts, chunkSize) {
  const declared = parts.map(p => p.length);
  yield header;
  for (let index = 0; index < parts.length; index++) {
    // A Uint8Array's length changes only if its buffer was transferred meanwhile.
    if (parts[index].length !== declared[index]) {
      throw new EnvelopeError(
        "part_length_mismatch",
        `part ${index} was declared as ${declared[index]} bytes but holds ${parts[index].length}`,
      );
    }
    const partKey = await derivePartKey(fileKey, salts[index], index);
    yield* sealPart(partKey, parts[index], chunkSize);
  }
}

/** The header's bytes with their MAC: HMAC(mac_key, everything before the MAC). */
async function macedHeader(fileKey, fields) {
  const header = encodeHeader(fields);
  const macAt = header.length - MAC_LEN;
  const mac = await hmac(await deriveHeaderMacKey(fileKey), header.subarray(0, macAt));
  header.set(mac, macAt);
  return header;
}

async function stanzaFor(recipient, fileKeyBytes) {
  const wrapped = await wrapFileKey(recipient.cryptoKey, fileKeyBytes);
  if (wrapped.length !== recipient.wrappedLength) {
    // envelopeSize was announced from the modulus length; a different output would break it.
    throw new EnvelopeError("bad_key", "RSA-OAEP gave a wrapped key of an unexpected length");
  }
  return { role: recipient.role, keyId: recipient.keyId, wrapped };
}

/** Imports every key; requires a platform stanza and each key only once. */
async function importStanzaKeys(keys) {
  if (!Array.isArray(keys) || !keys.some(k => k && k.role === "platform")) {
    throw usageError("an envelope needs the platform's key (a key with role \"platform\")");
  }
  const recipients = await Promise.all(keys.map(async (key, i) => {
    const { role, publicKeyPem } = key || {};
    if (!Object.prototype.hasOwnProperty.call(STANZA_ROLES, role)) {
      throw usageError(
        `keys[${i}].role "${role}" is not one of ${Object.keys(STANZA_ROLES).join(", ")}`,
      );
    }
    return Object.assign({ role }, await importRecipientKey(publicKeyPem));
  }));
  recipients.forEach((r, i) => {
    const first = recipients.findIndex(other => toHex(other.keyId) === toHex(r.keyId));
    if (first !== i) {
      throw usageError(
        `keys[${first}] (${recipients[first].role}) and keys[${i}] (${r.role}) are the same key; give each key once`,
      );
    }
  });
  return recipients;
}

/** The plaintext of every part: the manifest, then the attachments. */
function partPlaintexts(manifest, attachments) {
  if (!(manifest instanceof Uint8Array)) {
    throw usageError("manifest must be a Uint8Array (buildManifest's result)");
  }
  if (!Array.isArray(attachments)) {
    throw usageError("attachments must be a list of Uint8Array");
  }
  attachments.forEach((a, i) => {
    if (!(a instanceof Uint8Array)) {
      throw usageError(`attachments[${i}] must be a Uint8Array`);
    }
  });
  return [manifest, ...attachments];
}

/** The header's message id: 16 bytes, or a UUID (or 32 hex digits) as the API shows it. */
function messageIdBytes(messageId) {
  if (messageId instanceof Uint8Array && messageId.length === MESSAGE_ID_LEN) {
    return new Uint8Array(messageId);
  }
  if (typeof messageId === "string") {
    const compact = UUID.test(messageId) ? messageId.replace(/-/g, "") : messageId;
    if (HEX_128.test(compact)) {
      return fromHex(compact, "messageId");
    }
  }
  throw usageError("messageId must be 16 bytes or a UUID string");
}

/** `draw(n)`: n bytes from `random`, copied (the caller's buffer is never zeroed or kept). */
function randomSource(random) {
  if (typeof random !== "function") {
    throw usageError("random must be a function (n) => Uint8Array");
  }
  return n => {
    const bytes = random(n);
    if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
      throw new EnvelopeError("random", `the random source did not give ${n} bytes`);
    }
    return new Uint8Array(bytes);
  };
}

function systemRandom(n) {
  return globalObject.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * An async iterable that can be iterated once. A second reading would seal every chunk again
 * under the same part keys and nonces: harmless only while the plaintext is unchanged, so it
 * is refused rather than relied on.
 */
function readOnce(generate) {
  let taken = false;
  return {
    [ASYNC_ITERATOR]() {
      if (taken) {
        throw usageError("an envelope's pieces can be read only once; seal the message again");
      }
      taken = true;
      return generate();
    },
  };
}
