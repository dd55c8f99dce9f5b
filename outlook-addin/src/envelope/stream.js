// The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, 2015) over AES-256-GCM, and
// the keys it runs under (docs/envelope.md §3, §5; the Rust owner is `envelope/src/stream.rs`).
//
// Written by hand because WebCrypto has no streaming AEAD: one AES-GCM call seals one whole
// buffer, so each part is cut into chunks here and each chunk sealed on its own, under a nonce
// that binds it to its position (the counter) and marks the part's end (the last flag).
//
// Invariant: a part key must never seal two different streams. It is derived from a fresh
// random file key, the part's own salt and its index, so it never does; and a part is sealed
// once (see `pieces` in ../envelope.js).

import { allSettled } from "../settle.js";
import { setUint64, subtle, utf8 } from "./bytes.js";
import { chunkCount } from "./format.js";

const HEADER_MAC_INFO = "sealpost header mac";
const PART_KEY_INFO = "sealpost part";
const NONCE_LEN = 12;

/** The file key as a WebCrypto HKDF key: it never leaves WebCrypto again after this. */
export function importFileKey(fileKey) {
  return subtle().importKey("raw", fileKey, "HKDF", false, ["deriveKey"]);
}

/** HMAC-SHA256 key for the header: HKDF(file key, salt = empty, info = "sealpost header mac"). */
export function deriveHeaderMacKey(fileKey) {
  return subtle().deriveKey(
    hkdf(new Uint8Array(0), utf8(HEADER_MAC_INFO)),
    fileKey,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

/** AES-256-GCM key of part `index`: HKDF(file key, salt, "sealpost part" ‖ u32be(index)). */
export function derivePartKey(fileKey, salt, index) {
  const label = utf8(PART_KEY_INFO);
  const info = new Uint8Array(label.length + 4);
  info.set(label);
  new DataView(info.buffer).setUint32(label.length, index);
  return subtle().deriveKey(
    hkdf(salt, info),
    fileKey,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt"],
  );
}

/** HMAC-SHA256 of `bytes`. */
export async function hmac(macKey, bytes) {
  return new Uint8Array(await subtle().sign("HMAC", macKey, bytes));
}

/** The nonce of chunk `index`: an 11-byte big-endian counter, then 1 on a part's last chunk. */
export function chunkNonce(index, last) {
  const nonce = new Uint8Array(NONCE_LEN);
  // The counter is 88 bits wide; a chunk index fits its low 8 bytes, the top 3 stay zero.
  setUint64(new DataView(nonce.buffer), 3, index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Chunks sealed ahead of the one being read: WebCrypto runs each call on its own worker
 * thread, so a few in flight keep every core busy, where one at a time left them waiting on
 * each call's round trip (64 KiB each: memory ahead stays under a megabyte). */
const CHUNKS_AHEAD = 12;

/**
 * Seals `plaintext` as one part, chunk by chunk, yielding `ciphertext ‖ tag` per chunk in
 * order. Sealing runs at most CHUNKS_AHEAD chunks ahead of what was pulled, so memory beyond
 * the plaintext stays bounded.
 */
export async function* sealPart(partKey, plaintext, chunkSize) {
  const chunks = chunkCount(plaintext.length, chunkSize);
  const seal = (index) => subtle().encrypt(
    { name: "AES-GCM", iv: chunkNonce(index, index === chunks - 1), tagLength: 128 },
    partKey,
    plaintext.subarray(index * chunkSize, (index + 1) * chunkSize),
  );
  const inFlight = [];
  let next = 0;
  try {
    for (let index = 0; index < chunks; index++) {
      while (next < chunks && next <= index + CHUNKS_AHEAD) {
        const sealing = seal(next++);
        sealing.catch(() => {}); // a failure is reported when its chunk is read, not before
        inFlight.push(sealing);
      }
      yield new Uint8Array(await inFlight.shift());
    }
  } finally {
    // Abandoned early (the upload failed): nothing sealed ahead is left unobserved.
    await allSettled(inFlight);
  }
}

function hkdf(salt, info) {
  return { name: "HKDF", hash: "SHA-256", salt, info };
}
