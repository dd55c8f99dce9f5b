/**
 * The direct transport: the add-in seals the envelope itself with WebCrypto (envelope.js, the
 * same format and vectors as the Rust crate) and talks to the platform's API with the device
 * token from the task pane's sign-in. Used where Outlook cannot reach the helper on this
 * computer (Outlook on the web, new Outlook, Mac) or where IT has not turned the bridge on.
 */

import { ApiError, ApiFailure } from "../api.js";
import { buildManifest, sealEnvelope, sha256Hex } from "../envelope.js";
import { toHex } from "../envelope/bytes.js";
import { globalObject } from "../global.js";

/** Bytes per upload request: small enough to resend cheaply and to keep the segments in memory
 * (one uploading, one sealed ahead) small beside the attachment, large enough to keep the
 * per-request fsync on the platform rare. 8, 4 and 2 MiB sent a 25 MiB message in the same time
 * within the noise; each halving took 8–15 MiB off the peak, and 2 MiB brings what a send adds
 * under 3× the attachment (docs/PERFORMANCE.md). */
export const SEGMENT_BYTES = 2 << 20;
/** Times one upload request is retried (after asking the platform where to resume). */
export const UPLOAD_RETRIES = 3;
/** Addresses per key lookup (the platform's `keys::MAX_LOOKUP`). */
const LOOKUP_BATCH = 100;

export class DirectTransport {
  /** @param {import("../api.js").Platform} platform signed in */
  constructor(platform, { email }) {
    this.platform = platform;
    this.email = email;
    this.name = "direct";
  }

  classify(candidate, toggle) {
    return this.platform.classify(candidate, toggle);
  }

  /**
   * Seals and uploads `message` ({to, cc, bcc, subject, text, html, attachments: [{name,
   * contentType, contentId, bytes}]}) and finalises it, with `unlockCode` set first if given.
   * Resolves with `{id, link, stub, notifiedByPlatform}`.
   */
  async send(message, { onProgress = () => {}, signal, unlockCode = null } = {}) {
    // Never Bcc recipients' keys: each stanza names its key's id in the header every
    // recipient can read, which would show who else received the message (as in the helper).
    // The keys are looked up while the attachments are hashed (on WebCrypto's threads).
    const [keys, hashes] = await Promise.all([
      this.keysFor([...message.to, ...message.cc]),
      Promise.all(message.attachments.map((a) => sha256Hex(a.bytes))),
    ]);
    const described = message.attachments.map((a, i) => ({
      name: a.name,
      contentType: a.contentType,
      size: a.bytes.length,
      contentId: a.contentId || null,
      sha256: hashes[i],
    }));
    const manifest = buildManifest({
      from: this.email,
      to: message.to,
      cc: message.cc,
      subject: message.subject,
      date: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      headers: [],
      text: message.text,
      html: message.html,
      attachments: described,
    });
    const id = randomUuid();
    const sealed = await sealEnvelope({
      messageId: id,
      manifest,
      attachments: message.attachments.map((a) => a.bytes),
      keys,
    });
    // The first segment is sealed while the platform records the message.
    const outgoing = readAhead(segments(sealed.pieces, SEGMENT_BYTES));
    try {
      await this.platform.createMessage({
        id,
        to: message.to,
        cc: message.cc,
        bcc: message.bcc,
        subject: message.subject,
        envelope_size: sealed.envelopeSize,
        expires_at: null,
      });
      // Set before finalising, so no recipient can ever open the message without it.
      if (unlockCode) await this.platform.setUnlockCode(id, unlockCode);
      await this.upload(id, outgoing, sealed.envelopeSize, onProgress, signal);
    } finally {
      outgoing.abandon();
    }
    const done = await this.platform.finalise(id);
    return { id, link: done.link, stub: done.stub, notifiedByPlatform: !!done.notified_by_platform };
  }

  /** Makes a sealed message unreadable (it was never announced to anyone). */
  recall(id) {
    return this.platform.recall(id);
  }

  /** The platform's key, each recipient's registered key, and the compliance key if any. */
  async keysFor(addresses) {
    const platformKey = await this.platform.platformKey();
    const keys = [{ role: "platform", publicKeyPem: platformKey.public_key_pem }];
    let compliance = null;
    const unique = [...new Set(addresses)];
    for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
      const found = await this.platform.lookupKeys(unique.slice(i, i + LOOKUP_BATCH));
      for (const k of found.keys || []) keys.push({ role: "recipient", publicKeyPem: k.public_key_pem });
      compliance = compliance || found.compliance;
    }
    if (compliance) keys.push({ role: "compliance", publicKeyPem: compliance.public_key_pem });
    return keys;
  }

  /** Uploads the sealed segments (read ahead, so the next is sealed while one is on its way);
   * a failed request is retried from where the platform says it stands, so nothing is sent
   * twice and nothing is skipped. */
  async upload(id, outgoing, total, onProgress, signal) {
    let offset = 0;
    for (let next = await outgoing.next(); !next.done; next = await outgoing.next()) {
      const end = offset + next.value.length;
      await this.uploadSegment(id, offset, end, next.value, signal);
      offset = end;
      onProgress(offset, total);
    }
    if (offset !== total) throw new Error(`sealed ${offset} bytes, announced ${total}`);
  }

  async uploadSegment(id, offset, end, segment, signal) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.platform.upload(id, offset, segment, signal);
        return;
      } catch (e) {
        if (!retryable(e) || attempt >= UPLOAD_RETRIES || (signal && signal.aborted)) throw e;
        const at = await this.platform.uploadOffset(id);
        if (at.received === end) return; // the answer was lost, the bytes were not
        if (at.received !== offset) throw e; // the platform holds something else: stop
      }
    }
  }
}

function retryable(e) {
  return e instanceof ApiError
    && (e.kind === ApiFailure.Unreachable || e.kind === ApiFailure.TimedOut || e.status >= 500);
}

/** Reads an async iterator one item ahead of its reader. `abandon` when done or stopping
 * early: the item read ahead is not wanted, its failure, if any, is not the one to report, and
 * the iterator is closed. */
function readAhead(iterator) {
  let ahead = iterator.next();
  return {
    async next() {
      const item = await ahead;
      if (!item.done) ahead = iterator.next();
      return item;
    },
    abandon() {
      // Once the read in flight settles, the iterator is closed, so the sealing generators'
      // own clean-up runs.
      ahead.then(() => iterator.return && iterator.return(), () => {}).catch(() => {});
    },
  };
}

/** Gathers pieces into segments of `size` bytes (the last may be shorter). */
async function* segments(pieces, size) {
  let buf = new Uint8Array(size);
  let used = 0;
  for await (const piece of pieces) {
    let from = 0;
    while (from < piece.length) {
      const n = Math.min(size - used, piece.length - from);
      buf.set(piece.subarray(from, from + n), used);
      used += n;
      from += n;
      if (used === size) {
        yield buf;
        buf = new Uint8Array(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

/** A random (version 4) UUID, from WebCrypto. */
export function randomUuid() {
  const b = globalObject.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
