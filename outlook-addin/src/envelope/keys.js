// Recipient keys: an SPKI PEM (as the platform's API returns `public_key_pem`) to a WebCrypto
// RSA-OAEP key, its key id, and wrapping the file key for it (docs/envelope.md §2). The sizes
// accepted are the Rust crate's (`envelope/src/keys.rs`, MIN_RSA_BITS..MAX_RSA_BITS).

import { decodeBase64 } from "../base64.js";
import { subtle, toHex, utf8 } from "./bytes.js";
import { EnvelopeError } from "./errors.js";

const MIN_RSA_BITS = 3072;
const MAX_RSA_BITS = 8192;
/** The OAEP label: separates Sealpost's use of an RSA key from any other use of it. */
const OAEP_LABEL = "sealpost file key";
const RSA_OAEP_SHA256 = { name: "RSA-OAEP", hash: "SHA-256" };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/;

/**
 * A recipient key ready to wrap for: `{cryptoKey, keyId (32 bytes), wrappedLength}`.
 * Refuses anything but an RSA SubjectPublicKeyInfo PEM of 3072 to 8192 bits.
 */
export async function importRecipientKey(publicKeyPem) {
  const der = spkiDerFromPem(publicKeyPem);
  let cryptoKey;
  try {
    // Extractable, so the key id can be taken from WebCrypto's canonical re-encoding.
    cryptoKey = await subtle().importKey("spki", der, RSA_OAEP_SHA256, true, ["encrypt"]);
  } catch (e) {
    throw badKey(`not an RSA SubjectPublicKeyInfo PEM (${e.message})`);
  }
  // The Rust crate counts the modulus in whole bytes; so does the wrapped length.
  const wrappedLength = Math.ceil(cryptoKey.algorithm.modulusLength / 8);
  const bits = wrappedLength * 8;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw badKey(`RSA key has ${bits} bits; Sealpost needs ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`);
  }
  const keyId = await keyIdOfKey(cryptoKey);
  return { cryptoKey, keyId, wrappedLength };
}

/** The key id as lowercase hex: SHA-256 of the canonical SPKI DER. Refuses what sealing refuses. */
export async function keyIdOf(publicKeyPem) {
  return toHex((await importRecipientKey(publicKeyPem)).keyId);
}

/** RSA-OAEP-SHA256 of the file key with Sealpost's label. */
export async function wrapFileKey(cryptoKey, fileKey) {
  const wrapped = await subtle().encrypt(
    { name: "RSA-OAEP", label: utf8(OAEP_LABEL) },
    cryptoKey,
    fileKey,
  );
  return new Uint8Array(wrapped);
}

async function keyIdOfKey(cryptoKey) {
  const spki = await subtle().exportKey("spki", cryptoKey);
  return new Uint8Array(await subtle().digest("SHA-256", spki));
}

function spkiDerFromPem(pem) {
  const block = typeof pem === "string" ? PEM_BLOCK.exec(pem) : null;
  if (!block) {
    throw badKey("a public key must be a PEM block (\"-----BEGIN PUBLIC KEY-----\")");
  }
  if (block[1] !== "PUBLIC KEY") {
    throw badKey(`expected a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM, found "${block[1]}"`);
  }
  // Not atob: classic Outlook's JavaScript-only runtime, which runs the send handler, may lack it.
  try {
    return decodeBase64(block[2]);
  } catch (e) {
    throw badKey("the PEM's base64 is damaged");
  }
}

function badKey(message) {
  return new EnvelopeError("bad_key", `key rejected: ${message}`);
}
