// Byte helpers shared by the envelope writer's modules: WebCrypto access, UTF-8, hex, and
// big-endian integers wider than 32 bits (written as two halves, so no BigInt is needed and
// the code bundles for ES2016).

import { globalObject } from "../global.js";
import { EnvelopeError, usageError } from "./errors.js";

const TWO_POW_32 = 0x100000000;

/** WebCrypto's SubtleCrypto; browsers offer it only in a secure context (https, localhost). */
export function subtle() {
  const crypto = globalObject.crypto;
  if (!crypto || !crypto.subtle) {
    throw new EnvelopeError(
      "usage",
      "WebCrypto is not available here (a browser offers it only on https:// or localhost pages)",
    );
  }
  return crypto.subtle;
}

/** The UTF-8 bytes of a string. */
export function utf8(text) {
  return new TextEncoder().encode(text);
}

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) {
    out += (b < 16 ? "0" : "") + b.toString(16);
  }
  return out;
}

/** Bytes from an even-length hex string; `what` names the value in the error. */
export function fromHex(hex, what) {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw usageError(`${what} is not hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Writes `value` (a safe integer, 0 ≤ value < 2^53) as a big-endian u64 at `offset`. */
export function setUint64(view, offset, value) {
  view.setUint32(offset, Math.floor(value / TWO_POW_32));
  view.setUint32(offset + 4, value % TWO_POW_32);
}

/** True for a whole number that a JavaScript number holds exactly and that is not negative. */
export function isLength(value) {
  return Number.isSafeInteger(value) && value >= 0;
}
