/**
 * base64 ⇄ bytes. Written here because classic Outlook's JavaScript-only runtime, which runs
 * the send handler, offers neither `atob` reliably nor Node's `Buffer`; where `atob` exists it
 * is used. Tolerates line breaks and missing padding, refuses anything else.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** base64 characters decoded per step: a multiple of 4, so steps need no carry-over; the
 * step's binary string is the only transient copy. */
const STEP = 4 << 20;

export function decodeBase64(text) {
  let clean = String(text);
  // One scan in the usual case (Outlook's base64 has no line breaks); a second after cleaning.
  if (/[^A-Za-z0-9+/=]/.test(clean)) {
    clean = clean.replace(/[\r\n\t ]+/g, "");
    if (/[^A-Za-z0-9+/=]/.test(clean)) throw broken();
  }
  let end = clean.length;
  while (end > 0 && clean.charCodeAt(end - 1) === 61 /* = */) end--;
  const firstPad = clean.indexOf("=");
  if (clean.length - end > 2 || (firstPad !== -1 && firstPad < end) || end % 4 === 1) throw broken();
  if (end < clean.length) clean = clean.slice(0, end);
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(clean);
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let at = 0; at < clean.length; at += STEP) {
    const step = clean.slice(at, at + STEP);
    o = typeof globalThis.atob === "function" ? decodeWithAtob(step, out, o) : decodeByHand(step, out, o);
  }
  return out;
}

function broken() {
  return new Error("an attachment's base64 is broken");
}

function decodeWithAtob(step, out, o) {
  const binary = globalThis.atob(step + "===".slice((step.length + 3) % 4));
  for (let i = 0; i < binary.length; i++) out[o++] = binary.charCodeAt(i);
  return o;
}

function decodeByHand(step, out, o) {
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < step.length; i++) {
    acc = ((acc << 6) | VALUE[step.charCodeAt(i)]) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o;
}

export function encodeBase64(bytes) {
  if (typeof globalThis.btoa === "function") {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return globalThis.btoa(binary);
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
