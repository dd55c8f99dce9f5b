// Test kit: an independent envelope reader and the test keys, written from docs/envelope.md
// alone so that it checks the writer (src/envelope.js) rather than repeating it. It shares
// nothing with the writer but WebCrypto, and takes other WebCrypto paths where it can (HKDF
// deriveBits and raw keys where the writer uses deriveKey). Test-only: it trusts its input
// far more than a real reader may (no limits, no diagnosis of bad chunks).

const subtle = globalThis.crypto.subtle;
const RSA_OAEP = { name: "RSA-OAEP", hash: "SHA-256" };
const LABEL = new TextEncoder().encode("sealpost file key");
const ROLE_NAMES = ["", "platform", "recipient", "sender", "compliance"];
const TAG = 16;
const MAC = 32;

export function hex(bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
}

export function unhex(text) {
  return Uint8Array.from(text.match(/../g) || [], h => parseInt(h, 16));
}

export function fromBase64(text) {
  return Uint8Array.from(atob(text), c => c.charCodeAt(0));
}

export function concat(pieces) {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Collects an async iterable of byte arrays into one array. */
export async function collect(pieces) {
  const all = [];
  for await (const piece of pieces) {
    all.push(piece);
  }
  return concat(all);
}

/**
 * A test key from its PKCS#8 PEM: `{decryptKey, publicKeyPem, keyId}`; the public half is
 * rebuilt from the private key's modulus and exponent (JWK), its key id hashed from the SPKI.
 */
export async function testKey(pkcs8Pem) {
  const der = fromBase64(pkcs8Pem.replace(/-----[A-Z ]+-----|\s+/g, ""));
  const decryptKey = await subtle.importKey("pkcs8", der, RSA_OAEP, true, ["decrypt"]);
  const { n, e } = await subtle.exportKey("jwk", decryptKey);
  const publicKey = await subtle.importKey("jwk", { kty: "RSA", n, e, ext: true }, RSA_OAEP, true, ["encrypt"]);
  const spki = new Uint8Array(await subtle.exportKey("spki", publicKey));
  const base64 = btoa(String.fromCharCode(...spki));
  const publicKeyPem = `-----BEGIN PUBLIC KEY-----\n${base64.match(/.{1,64}/g).join("\n")}\n-----END PUBLIC KEY-----\n`;
  const keyId = hex(new Uint8Array(await subtle.digest("SHA-256", spki)));
  return { decryptKey, publicKeyPem, keyId };
}

/** Parses a header's fields (no MAC check), with the offsets of its wrapped keys. */
export function parseHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== "SEALPOST" || bytes[8] !== 1 || bytes[9] !== 0) {
    throw new Error("reader: not a version-1 envelope");
  }
  const headerLen = view.getUint32(10);
  const header = {
    headerLen,
    messageId: hex(bytes.subarray(14, 30)),
    chunkSize: view.getUint32(30),
    stanzas: [],
    parts: [],
  };
  let at = 36;
  for (let count = view.getUint16(34); count > 0; count--) {
    const wrappedLen = view.getUint16(at + 34);
    header.stanzas.push({
      role: ROLE_NAMES[bytes[at]],
      alg: bytes[at + 1],
      keyId: hex(bytes.subarray(at + 2, at + 34)),
      wrappedAt: at + 36,
      wrapped: bytes.slice(at + 36, at + 36 + wrappedLen),
    });
    at += 36 + wrappedLen;
  }
  for (let count = view.getUint16(at), i = 0; i < count; i++) {
    const entry = at + 2 + 25 * i;
    const len = view.getUint32(entry + 1) * 2 ** 32 + view.getUint32(entry + 5);
    header.parts.push({ kind: bytes[entry], len, salt: bytes.slice(entry + 9, entry + 25) });
  }
  if (at + 2 + 25 * header.parts.length + MAC !== headerLen) {
    throw new Error("reader: header_len does not match the header's fields");
  }
  return header;
}

/** Each part's offset and chunk count, and the envelope's total length (§5). */
export function layout(header) {
  let offset = header.headerLen;
  const parts = header.parts.map(p => {
    const chunks = p.len === 0 ? 1 : Math.ceil(p.len / header.chunkSize);
    const part = { offset, len: p.len, chunks };
    offset += p.len + TAG * chunks;
    return part;
  });
  return { parts, total: offset };
}

export async function unwrap(decryptKey, wrapped) {
  return new Uint8Array(await subtle.decrypt({ name: "RSA-OAEP", label: LABEL }, decryptKey, wrapped));
}

async function hkdfBits(fileKey, salt, info) {
  const ikm = await subtle.importKey("raw", fileKey, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, ikm, 256));
}

/** Whether the header's MAC verifies under this file key. */
export async function macVerifies(bytes, header, fileKey) {
  // An empty HKDF salt is 32 zero bytes (RFC 5869); the writer gives the empty one.
  const info = new TextEncoder().encode("sealpost header mac");
  const macKeyBytes = await hkdfBits(fileKey, new Uint8Array(32), info);
  const macKey = await subtle.importKey("raw", macKeyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const end = header.headerLen - MAC;
  return subtle.verify("HMAC", macKey, bytes.subarray(end, header.headerLen), bytes.subarray(0, end));
}

/** The raw AES key of part `index`. */
export function partKey(fileKey, salt, index) {
  const info = concat([new TextEncoder().encode("sealpost part"), Uint8Array.of(0, 0, index >> 8, index & 255)]);
  return hkdfBits(fileKey, salt, info);
}

/** Opens one chunk with the nonce (index, last); throws if it does not authenticate. */
export async function openChunk(keyBytes, index, last, sealed) {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = last ? 1 : 0;
  const key = await subtle.importKey("raw", keyBytes, "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, sealed));
}

/**
 * Opens a whole envelope with a test key: unwraps its stanza, verifies the MAC, checks the
 * exact length, and decrypts every part. Returns `{header, fileKey, plaintexts}`.
 */
export async function openEnvelope(bytes, key) {
  const header = parseHeader(bytes);
  const stanza = header.stanzas.find(s => s.keyId === key.keyId);
  if (!stanza) {
    throw new Error("reader: no stanza for this key");
  }
  const fileKey = await unwrap(key.decryptKey, stanza.wrapped);
  if (!(await macVerifies(bytes, header, fileKey))) {
    throw new Error("reader: header MAC does not verify");
  }
  const { parts, total } = layout(header);
  if (bytes.length !== total) {
    throw new Error(`reader: envelope is ${bytes.length} bytes, its header says ${total}`);
  }
  const plaintexts = [];
  for (let i = 0; i < parts.length; i++) {
    plaintexts.push(await openPart(bytes, header, parts[i], await partKey(fileKey, header.parts[i].salt, i)));
  }
  return { header, fileKey, plaintexts };
}

async function openPart(bytes, header, part, keyBytes) {
  const chunks = [];
  let at = part.offset;
  for (let j = 0; j < part.chunks; j++) {
    const last = j === part.chunks - 1;
    const plainLen = last ? part.len - j * header.chunkSize : header.chunkSize;
    chunks.push(await openChunk(keyBytes, j, last, bytes.subarray(at, at + plainLen + TAG)));
    at += plainLen + TAG;
  }
  return concat(chunks);
}
