// The envelope writer's checks, in one place for both places they run: under `node --test`
// (envelope.test.js) and in Debian's Chromium (browser.html, driven by
// tests/outlook/test_envelope_chromium.py). They check src/envelope.js against the shared test
// vectors byte for byte, against the spec's edge cases, and by round trips through the test
// kit's independent reader (reader.js).
//
// `files.text(path)` reads a file of `envelope/tests/vectors/` (`multipart.json`,
// `keys/platform.pem`, ...): from disk under Node, over HTTP in the browser.

import {
  DEFAULT_CHUNK_SIZE, buildManifest, envelopeSize, keyIdOf, sealEnvelope, sha256Hex,
} from "../src/envelope.js";
import { assert, assertBytes, assertEqual, assertFails } from "./assert.js";
import {
  collect, fromBase64, layout, macVerifies, openChunk, openEnvelope, parseHeader, partKey,
  testKey, unhex, unwrap,
} from "./reader.js";

const VECTORS = ["multipart", "manifest-only"];
const TAG = 16;

/** Every check, as `{name, run}`; `run` resolves when the check passes and throws otherwise. */
export function envelopeChecks(files) {
  const kit = testKit(files);
  return [
    ...VECTORS.flatMap(name => [
      { name: `${name}: buildManifest gives the vector's manifest bytes`, run: () => manifestMatches(kit, name) },
      { name: `${name}: sealing with the vector's randomness gives its bytes`, run: () => sealMatches(kit, name) },
    ]),
    { name: "key ids are the vectors'", run: () => keyIdsMatch(kit) },
    { name: "a 2048-bit key is refused", run: () => weakKeyRefused(kit) },
    { name: "an empty attachment is one 16-byte final chunk", run: () => emptyPart(kit) },
    { name: "an exact multiple of the chunk size has no extra chunk", run: () => exactMultiple(kit) },
    { name: "64 KiB chunks by default", run: () => defaultChunks(kit) },
    { name: "random messages round-trip through the independent reader", run: () => roundTrips(kit) },
    { name: "the manifest escapes strings as serde_json does", run: manifestEscapes },
    { name: "the manifest has no bcc and leaves absent optionals out", run: manifestShape },
    { name: "bad inputs are refused with clear errors", run: () => badInputs(kit) },
    { name: "the pieces can be read only once", run: () => piecesOnce(kit) },
  ];
}

/** Test keys and vectors, each loaded once. */
function testKit(files) {
  const cache = new Map();
  const once = (id, load) => {
    if (!cache.has(id)) {
      cache.set(id, load());
    }
    return cache.get(id);
  };
  return {
    key: name => once(`key ${name}`, async () => testKey(await files.text(`keys/${name}.pem`))),
    vector: name => once(`vector ${name}`, async () => JSON.parse(await files.text(`${name}.json`))),
  };
}

// --- the vectors ---------------------------------------------------------------------------

async function manifestMatches(kit, name) {
  const vector = await kit.vector(name);
  const expected = fromBase64(vector.parts[0].plaintext_b64);
  const parsed = JSON.parse(new TextDecoder().decode(expected));
  assertBytes(buildManifest(manifestInput(parsed)), expected, `${name}: manifest bytes`);
}

/** The vector's parsed manifest as buildManifest's input (the API's names). */
function manifestInput({ metadata, body, attachments }) {
  return {
    from: metadata.from,
    to: metadata.to,
    cc: metadata.cc,
    subject: metadata.subject,
    date: metadata.date,
    messageId: metadata.message_id,
    headers: metadata.headers,
    text: body.text,
    html: body.html,
    attachments: attachments.map(a => ({
      name: a.name, contentType: a.content_type, size: a.size, contentId: a.content_id, sha256: a.sha256,
    })),
  };
}

async function sealMatches(kit, name) {
  const vector = await kit.vector(name);
  const keys = await Promise.all(vector.recipients.map(r => kit.key(r.key.replace(/\.pem$/, ""))));
  const plaintexts = vector.parts.map(p => fromBase64(p.plaintext_b64));
  // The vector's random draws, in the order `rng.order` gives; each stanza's OAEP seed is
  // drawn (and discarded: WebCrypto takes none), so any 32 bytes do.
  const random = scriptedRandom([
    unhex(vector.file_key),
    ...vector.recipients.map(() => new Uint8Array(32)),
    ...vector.parts.map(p => unhex(p.salt)),
  ]);
  const sealed = await sealEnvelope({
    messageId: vector.message_id,
    manifest: plaintexts[0],
    attachments: plaintexts.slice(1),
    keys: vector.recipients.map((r, i) => ({ role: r.role, publicKeyPem: keys[i].publicKeyPem })),
    chunkSize: vector.chunk_size,
    random: random.draw,
  });
  random.allUsed();
  assertEqual(sealed.keyIds.join(), vector.recipients.map(r => r.key_id).join(), `${name}: key ids`);

  const ours = await collect(sealed.pieces);
  const theirs = fromBase64(vector.envelope_b64);
  assertEqual(ours.length, theirs.length, `${name}: envelope length`);
  assertEqual(sealed.envelopeSize, ours.length, `${name}: envelopeSize before sealing`);
  const ourHeader = parseHeader(ours);
  const theirHeader = parseHeader(theirs);
  assertEqual(ourHeader.headerLen, vector.header_len, `${name}: header length`);
  // The wrapped keys differ (WebCrypto draws its own OAEP seed), and so does the MAC over them.
  assertBytes(
    withoutWrappedKeysAndMac(ours, ourHeader),
    withoutWrappedKeysAndMac(theirs, theirHeader),
    `${name}: header apart from the wrapped keys and the MAC`,
  );
  const fileKey = unhex(vector.file_key);
  for (const [i, stanza] of ourHeader.stanzas.entries()) {
    assertBytes(await unwrap(keys[i].decryptKey, stanza.wrapped), fileKey, `${name}: stanza ${i} unwraps to the file key`);
  }
  assert(await macVerifies(theirs, theirHeader, fileKey), `${name}: the reader verifies the vector's MAC`);
  assert(await macVerifies(ours, ourHeader, fileKey), `${name}: the reader verifies our MAC`);
  assertBytes(
    ours.subarray(ourHeader.headerLen),
    theirs.subarray(theirHeader.headerLen),
    `${name}: every part's ciphertext`,
  );
  const sizes = { stanzas: ourHeader.stanzas.map(s => s.wrapped.length), partLengths: plaintexts.map(p => p.length) };
  assertEqual(envelopeSize({ ...sizes, chunkSize: vector.chunk_size }), theirs.length, `${name}: envelopeSize()`);
}

/** A random source that gives exactly these draws, in this order, and checks their sizes. */
function scriptedRandom(draws) {
  let next = 0;
  return {
    draw(n) {
      const bytes = draws[next];
      assert(bytes && bytes.length === n, `random draw ${next} asks for ${n} bytes, the vector's order gives ${bytes ? bytes.length : "no more"}`);
      next++;
      return bytes;
    },
    allUsed() {
      assertEqual(next, draws.length, "random draws made, as in the vector's order");
    },
  };
}

function withoutWrappedKeysAndMac(bytes, header) {
  const copy = bytes.slice(0, header.headerLen);
  for (const stanza of header.stanzas) {
    copy.fill(0, stanza.wrappedAt, stanza.wrappedAt + stanza.wrapped.length);
  }
  copy.fill(0, header.headerLen - 32);
  return copy;
}

async function keyIdsMatch(kit) {
  for (const name of VECTORS) {
    for (const r of (await kit.vector(name)).recipients) {
      const key = await kit.key(r.key.replace(/\.pem$/, ""));
      assertEqual(await keyIdOf(key.publicKeyPem), r.key_id, `${name}: key id of ${r.key}`);
      assertEqual(key.keyId, r.key_id, `${name}: the reader's key id of ${r.key}`);
    }
  }
}

async function weakKeyRefused(kit) {
  const weak = await kit.key("weak-2048");
  const platform = await kit.key("platform");
  await assertFails(keyIdOf(weak.publicKeyPem), "bad_key", /2048 bits; Sealpost needs 3072 to 8192/, "keyIdOf a 2048-bit key");
  await assertFails(
    sealEnvelope({
      ...(await smallMessage([])),
      keys: [{ role: "platform", publicKeyPem: platform.publicKeyPem }, { role: "recipient", publicKeyPem: weak.publicKeyPem }],
    }),
    "bad_key",
    /2048 bits/,
    "sealing for a 2048-bit key",
  );
}

// --- the spec's edge cases, computed from docs/envelope.md §5 -------------------------------

/** A manifest describing these attachments, and the sealing arguments for them. */
async function smallMessage(attachments, chunkSize = 64) {
  const described = await Promise.all(attachments.map(async (bytes, i) => ({
    name: `file-${i}.bin`, contentType: "application/octet-stream", size: bytes.length, sha256: await sha256Hex(bytes),
  })));
  const manifest = buildManifest({ from: "alice@example.com", to: ["bob@example.com"], subject: "edge", date: "2026-11-22T10:00:00Z", text: "hi", attachments: described });
  return { messageId: "00112233-4455-4677-8899-aabbccddeeff", manifest, attachments, chunkSize };
}

/** Seals for these test keys, checks the announced size and that every key opens it. */
async function sealAndOpen(kit, message, keyRoles = [["platform", "platform"], ["recipient", "sender"]]) {
  const keys = await Promise.all(keyRoles.map(([file]) => kit.key(file)));
  const sealed = await sealEnvelope({
    ...message,
    keys: keyRoles.map(([, role], i) => ({ role, publicKeyPem: keys[i].publicKeyPem })),
  });
  const bytes = await collect(sealed.pieces);
  assertEqual(sealed.envelopeSize, bytes.length, "envelopeSize announced before sealing");
  assertEqual(layout(parseHeader(bytes)).total, bytes.length, "the header's layout gives the length");
  let opened;
  for (const [i, key] of keys.entries()) {
    assertEqual(sealed.keyIds[i], key.keyId, `key id of stanza ${i}`);
    opened = await openEnvelope(bytes, key);
    const expected = [message.manifest, ...message.attachments];
    assertEqual(opened.plaintexts.length, expected.length, "part count");
    expected.forEach((p, j) => assertBytes(opened.plaintexts[j], p, `part ${j} opened with key ${i}`));
  }
  return { bytes, opened, parts: layout(opened.header).parts };
}

/** The bytes of part `index`'s chunks, cut by the spec's arithmetic. */
function chunkBytes(bytes, part, chunkSize) {
  const chunks = [];
  for (let j = 0, at = part.offset; j < part.chunks; j++) {
    const len = Math.min(chunkSize, part.len - j * chunkSize) + TAG;
    chunks.push(bytes.subarray(at, at + len));
    at += len;
  }
  return chunks;
}

/** Chunk `j` opens with its own nonce and last flag, and not with the other flag. */
async function opensOnlyAs(key, j, last, sealed, what) {
  await openChunk(key, j, last, sealed);
  let wrongFlagOpens = true;
  try {
    await openChunk(key, j, !last, sealed);
  } catch (e) {
    wrongFlagOpens = false;
  }
  assert(!wrongFlagOpens, `${what}: chunk ${j} must not open with last = ${!last}`);
}

async function emptyPart(kit) {
  const message = await smallMessage([new Uint8Array(0), Uint8Array.of(7)]);
  const { bytes, opened, parts } = await sealAndOpen(kit, message);
  assertEqual(parts[1].chunks, 1, "an empty part has one chunk");
  assertEqual(parts[2].offset - parts[1].offset, TAG, "an empty part is 16 bytes, the tag alone");
  const key = await partKey(opened.fileKey, opened.header.parts[1].salt, 1);
  const [chunk] = chunkBytes(bytes, parts[1], 64);
  assertEqual((await openChunk(key, 0, true, chunk)).length, 0, "the empty chunk opens to nothing");
  await opensOnlyAs(key, 0, true, chunk, "empty part");
}

async function exactMultiple(kit) {
  const attachment = Uint8Array.from({ length: 128 }, (_, i) => i);
  const message = await smallMessage([attachment]);
  const { bytes, opened, parts } = await sealAndOpen(kit, message);
  assertEqual(parts[1].chunks, 2, "128 bytes in 64-byte chunks are 2 chunks");
  assertEqual(bytes.length - parts[1].offset, 128 + 2 * TAG, "no empty chunk follows");
  const key = await partKey(opened.fileKey, opened.header.parts[1].salt, 1);
  const chunks = chunkBytes(bytes, parts[1], 64);
  await opensOnlyAs(key, 0, false, chunks[0], "exact multiple");
  await opensOnlyAs(key, 1, true, chunks[1], "exact multiple");
}

async function defaultChunks(kit) {
  const twoFull = pattern(2 * 65536, 3);
  const partial = pattern(200000, 5);
  const { chunkSize, ...withDefaultChunks } = await smallMessage([twoFull, partial]);
  const { opened, parts } = await sealAndOpen(kit, withDefaultChunks, [["platform", "platform"]]);
  assertEqual(opened.header.chunkSize, DEFAULT_CHUNK_SIZE, "default chunk size");
  assertEqual(DEFAULT_CHUNK_SIZE, 65536, "the default is 64 KiB");
  assertEqual(parts[1].chunks, 2, "two full chunks, no extra");
  assertEqual(parts[2].chunks, 4, "200000 bytes are 4 chunks");
}

async function roundTrips(kit) {
  const next = seededRandom(0x5ea1);
  const roles = ["recipient", "sender", "compliance"];
  for (let round = 0; round < 12; round++) {
    const chunkSize = [64, 128, 1024, 4096, 65536][next() % 5];
    const attachments = Array.from({ length: next() % 4 }, () => pattern(next() % Math.min(3 * chunkSize + 2, 150000), next()));
    const message = await smallMessage(attachments, chunkSize);
    const keyRoles = next() % 2 ? [["platform", "platform"]] : [["recipient", roles[next() % 3]], ["platform", "platform"]];
    await sealAndOpen(kit, message, keyRoles);
  }
}

/** A reproducible xorshift32 sequence of 32-bit numbers. */
function seededRandom(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

function pattern(length, salt) {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + salt) & 255);
}

// --- the manifest's JSON -------------------------------------------------------------------

const BASE = { from: "a@example.com", date: "2026-01-01T00:00:00Z" };
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function json(input) {
  return new TextDecoder().decode(buildManifest(input));
}

async function manifestEscapes() {
  const subject = "q \" b \\ s / c \u0001\u001f t\t n\n r\r b\b f\f del \u007f ls \u2028 é 😀 lone \ud800 end";
  const expected = "\"subject\":\"q \\\" b \\\\ s / c \\u0001\\u001f t\\t n\\n r\\r b\\b f\\f del \u007f ls \u2028 é 😀 lone \ufffd end\"";
  const text = json({ ...BASE, subject });
  assert(text.includes(expected), `subject written as ${JSON.stringify(text)}`);
}

async function manifestShape() {
  const written = json({
    ...BASE,
    bcc: ["hidden@example.com"],
    messageId: null,
    text: "t",
    html: undefined,
    attachments: [
      { name: "a", contentType: "text/plain", size: 0, contentId: null, sha256: EMPTY_SHA256 },
      { name: "b", contentType: "image/png", size: 0, contentId: "img1@x", sha256: EMPTY_SHA256 },
    ],
  });
  const expected = '{"version":1,"metadata":{"from":"a@example.com","to":[],"cc":[],"subject":"",'
    + '"date":"2026-01-01T00:00:00Z","headers":[]},"body":{"text":"t"},"attachments":['
    + `{"part":1,"name":"a","content_type":"text/plain","size":0,"sha256":"${EMPTY_SHA256}"},`
    + `{"part":2,"name":"b","content_type":"image/png","size":0,"content_id":"img1@x","sha256":"${EMPTY_SHA256}"}]}`;
  assertEqual(written, expected, "manifest JSON");
  assert(!written.includes("hidden"), "no bcc address in the manifest");
}

// --- refusals ------------------------------------------------------------------------------

async function badInputs(kit) {
  const platform = { role: "platform", publicKeyPem: (await kit.key("platform")).publicKeyPem };
  const recipient = { role: "recipient", publicKeyPem: (await kit.key("recipient")).publicKeyPem };
  const good = { ...(await smallMessage([Uint8Array.of(1)])), keys: [platform] };
  const refusals = [
    [{ chunkSize: 63 }, "usage", /chunk size 63 is not a power of two/],
    [{ chunkSize: 100 }, "usage", /chunk size 100/],
    [{ chunkSize: 8388608 }, "usage", /chunk size 8388608/],
    [{ chunkSize: "65536" }, "usage", /chunk size/],
    [{ messageId: new Uint8Array(15) }, "usage", /messageId must be 16 bytes or a UUID/],
    [{ messageId: "not-a-uuid" }, "usage", /messageId/],
    [{ messageId: undefined }, "usage", /messageId/],
    [{ keys: [] }, "usage", /needs the platform's key/],
    [{ keys: [recipient] }, "usage", /needs the platform's key/],
    [{ keys: [platform, { ...platform, role: "sender" }] }, "usage", /keys\[0\] \(platform\) and keys\[1\] \(sender\) are the same key/],
    [{ keys: [platform, { ...recipient, role: "bcc" }] }, "usage", /role "bcc" is not one of platform, recipient, sender, compliance/],
    [{ keys: [{ role: "platform", publicKeyPem: "hello" }] }, "bad_key", /PEM block/],
    [{ keys: [{ role: "platform", publicKeyPem: platform.publicKeyPem.replace(/PUBLIC KEY/g, "RSA PUBLIC KEY") }] }, "bad_key", /expected a "PUBLIC KEY"/],
    [{ keys: [{ role: "platform", publicKeyPem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }] }, "bad_key", /not an RSA SubjectPublicKeyInfo/],
    [{ manifest: "{}" }, "usage", /manifest must be a Uint8Array/],
    [{ attachments: [[1, 2]] }, "usage", /attachments\[0\] must be a Uint8Array/],
    [{ random: () => new Uint8Array(3) }, "random", /did not give 32 bytes/],
  ];
  for (const [change, code, pattern] of refusals) {
    await assertFails(sealEnvelope({ ...good, ...change }), code, pattern, `sealEnvelope with ${describe(change)}`);
  }
  await assertFails(() => envelopeSize({ stanzas: [100], partLengths: [1] }), "usage", /wrapped key of 100 bytes/, "envelopeSize of a tiny wrapped key");
  await assertFails(() => envelopeSize({ stanzas: [384], partLengths: [] }), "usage", /1 to 65535 parts/, "envelopeSize without parts");
  await assertFails(() => envelopeSize({ stanzas: [384], partLengths: [-1] }), "usage", /part length -1/, "envelopeSize of a negative length");
  await assertFails(() => envelopeSize({ stanzas: [384], partLengths: [1], chunkSize: 32 }), "usage", /chunk size 32/, "envelopeSize with a small chunk size");
  await assertFails(() => json({ ...BASE, from: undefined }), "bad_manifest", /from must be a string/, "a manifest without from");
  await assertFails(() => json({ ...BASE, attachments: [{ name: "a", contentType: "b", size: 0, sha256: "ABC" }] }), "bad_manifest", /attachments\[0\]\.sha256 must be 64 lowercase hex/, "a bad sha256");
  await assertFails(() => json({ ...BASE, attachments: [{ name: "a", contentType: "b", size: 1.5, sha256: EMPTY_SHA256 }] }), "bad_manifest", /attachments\[0\]\.size/, "a fractional size");
  await assertFails(() => json({ ...BASE, headers: [["X-Only-Name"]] }), "bad_manifest", /headers\[0\] must be a \[name, value\] pair/, "a header without value");
}

function describe(change) {
  return Object.entries(change).map(([k, v]) => `${k} = ${typeof v === "function" ? "a function" : JSON.stringify(v)}`).join(", ");
}

async function piecesOnce(kit) {
  const platform = await kit.key("platform");
  const sealed = await sealEnvelope({ ...(await smallMessage([])), keys: [{ role: "platform", publicKeyPem: platform.publicKeyPem }] });
  await collect(sealed.pieces);
  await assertFails(() => collect(sealed.pieces), "usage", /read only once/, "a second reading");
}
