/**
 * base64 ⇄ bytes. Written here because classic Outlook's JavaScript-only runtime, which runs
 * the send handler, offers neither `atob` reliably nor Node's `Buffer`, and because `atob` is
 * slow where it exists (a binary string, then a copy per byte): decoding is table-driven over
 * character codes, with `Uint8Array.fromBase64` used where the runtime has it. Tolerates line
 * breaks and missing padding, refuses anything else.
 */

import { globalObject } from "./global.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INVALID = -1 << 30;
/** A character's 6 bits already shifted to their place in a group of four, so a group decodes
 * with four lookups and three ORs; anything outside the alphabet makes the group negative. */
const SHIFTED = [18, 12, 6, 0].map((shift) => {
  const table = new Int32Array(256).fill(INVALID);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i << shift;
  return table;
});
const [S0, S1, S2, S3] = SHIFTED;
const WHITESPACE = /[\r\n\t ]+/g;

/** Characters decoded per step: a multiple of 4, so steps need no carry-over; the step's
 * character codes are the only transient copy. */
const STEP = 1 << 20;

/**
 * Decodes base64 (the standard alphabet; line breaks and missing padding tolerated), in one
 * pass over the text in the usual case. Throws on anything else.
 */
export function decodeBase64(text) {
  const s = String(text);
  try {
    return decodeClean(s);
  } catch (e) {
    if (!(e instanceof BrokenBase64)) throw e;
  }
  // Outlook's base64 has no line breaks; a MIME-wrapped one is cleaned and decoded again.
  const clean = s.replace(WHITESPACE, "");
  if (clean.length === s.length) throw broken();
  return decodeClean(clean);
}

class BrokenBase64 extends Error {}

function broken() {
  return new BrokenBase64("an attachment's base64 is broken");
}

/** Decodes base64 without whitespace; the padding is optional. */
function decodeClean(s) {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--;
  if (s.length - end > 2 || end % 4 === 1) throw broken();
  const tail = end % 4; // 0, or the 2 or 3 characters of a last, short group
  const body = end - tail;
  if (typeof Uint8Array.fromBase64 === "function") {
    try {
      return Uint8Array.fromBase64(s.slice(0, end), { lastChunkHandling: "loose" });
    } catch {
      throw broken();
    }
  }
  const out = new Uint8Array((body / 4) * 3 + (tail ? tail - 1 : 0));
  const codes = new Uint8Array(Math.min(STEP, body));
  const encoder = typeof TextEncoder === "function" ? new TextEncoder() : null;
  let o = 0;
  for (let at = 0; at < body; at += STEP) {
    const n = characterCodes(s, at, Math.min(at + STEP, body), codes, encoder);
    for (let i = 0; i < n; i += 4) {
      const w = S0[codes[i]] | S1[codes[i + 1]] | S2[codes[i + 2]] | S3[codes[i + 3]];
      if (w < 0) throw broken();
      out[o] = w >> 16;
      out[o + 1] = w >> 8;
      out[o + 2] = w;
      o += 3;
    }
  }
  if (tail) {
    const at = (i) => asciiCode(s.charCodeAt(body + i));
    const w = S0[at(0)] | S1[at(1)] | (tail === 3 ? S2[at(2)] : 0);
    if (w < 0) throw broken();
    out[o++] = w >> 16;
    if (tail === 3) out[o] = w >> 8;
  }
  return out;
}

/** A character's code if it is ASCII, else 0x80, which no base64 table entry accepts. */
function asciiCode(c) {
  return c > 0x7f ? 0x80 : c;
}

/**
 * Copies the codes of characters [from, to) into `codes` and returns how many; a character
 * outside ASCII is refused. TextEncoder does it natively where the runtime has it (UTF-8 of
 * ASCII is ASCII; anything else takes more bytes than characters).
 */
function characterCodes(s, from, to, codes, encoder) {
  const n = to - from;
  if (encoder) {
    const { read, written } = encoder.encodeInto(s.slice(from, to), codes);
    if (read !== n || written !== n) throw broken();
    return n;
  }
  for (let i = 0; i < n; i++) codes[i] = asciiCode(s.charCodeAt(from + i));
  return n;
}

export function encodeBase64(bytes) {
  if (typeof globalObject.btoa === "function") {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return globalObject.btoa(binary);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    const left = bytes.length - i;
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63]
      + (left > 1 ? ALPHABET[(n >> 6) & 63] : "=") + (left > 2 ? ALPHABET[n & 63] : "=");
  }
  return out;
}
