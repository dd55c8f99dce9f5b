/**
 * The helper transport: the Sealpost helper on this computer (`sealpost-helper bridge`) seals
 * and uploads, as it does for Thunderbird — keychain, key pinning, recipient keys, the
 * sender's own key, compliance — and the add-in speaks the native-messaging requests to it
 * over HTTP on 127.0.0.1 (docs/native-messaging.md, helper/src/bridge.rs). Chromium asks
 * before a page reaches 127.0.0.1 (Private Network Access), and new Outlook, Outlook on the
 * web and Mac often forbid it: where the bridge does not answer, the direct transport is used.
 */

import { abortable } from "../abort.js";
import { encodeBase64 } from "../base64.js";
import { globalObject } from "../global.js";

/** Where IT's installer starts the bridge (the helper's `bridge_port`). */
export const DEFAULT_BRIDGE_URL = "http://127.0.0.1:47474";
/** Decoded bytes per `send_piece` (the helper's `max_piece_bytes`). */
const PIECE_BYTES = 4 << 20;
/** Seconds to wait for a quick answer (`hello`, a piece) and for an upload's end. */
const QUICK_SECONDS = 15;
const UPLOAD_SECONDS = 280;

/** A failure the helper reported (`code` is the helper's error code) or no answer at all. */
export class BridgeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "BridgeError";
    this.code = code;
  }
}

async function post(fetchImpl, url, path, { secret, body, seconds, signal }) {
  const controller = abortable();
  const timer = setTimeout(() => controller.abort(), seconds * 1000);
  const onAbort = () => controller.abort();
  if (signal) signal.addEventListener("abort", onAbort, { once: true });
  try {
    const headers = { "Content-Type": "application/json" };
    if (secret) headers.Authorization = `Bearer ${secret}`;
    const r = await controller.race(fetchImpl(`${url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.fetchSignal,
    }));
    const parsed = JSON.parse((await controller.race(r.text())) || "null");
    if (!r.ok) {
      const e = (parsed && parsed.error) || {};
      throw new BridgeError(e.code || `http_${r.status}`, e.message || `the helper answered ${r.status}`);
    }
    return parsed;
  } catch (e) {
    if (e instanceof BridgeError) throw e;
    throw new BridgeError("unreachable", controller.signal.aborted ? "the helper did not answer in time" : "the helper does not answer on this computer");
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Pairs with the helper (its pairing is open until the first pairing, or two minutes after
 * `sealpost-helper bridge --pair`); resolves with `{url, secret}` to keep in the session.
 */
export async function pairWithHelper(url = DEFAULT_BRIDGE_URL, fetchImpl = globalObject.fetch) {
  const r = await post(fetchImpl, url, "/v1/pair", { body: {}, seconds: QUICK_SECONDS });
  return { url, secret: r.secret };
}

export class BridgeTransport {
  /** @param {{url: string, secret: string}} pairing from `pairWithHelper` */
  constructor(pairing, fetchImpl = globalObject.fetch) {
    this.url = pairing.url;
    this.secret = pairing.secret;
    this.fetchImpl = fetchImpl;
    this.name = "helper";
  }

  /** One native-messaging request; resolves with the reply, throws `BridgeError` for `ok: false`. */
  async request(body, { seconds = QUICK_SECONDS, signal } = {}) {
    const reply = await post(this.fetchImpl, this.url, "/v1/request", { secret: this.secret, body, seconds, signal });
    if (!reply || reply.ok !== true) {
      const e = (reply && reply.error) || {};
      throw new BridgeError(e.code || "helper_error", e.message || "the helper refused");
    }
    return reply;
  }

  /** `{signed_in, email, platform, …}`: whether the helper can send for this user. */
  hello(seconds = 2) {
    return this.request({ type: "hello" }, { seconds });
  }

  classify(candidate, toggle) {
    return this.request({ type: "classify", candidate, toggle });
  }

  async send(message, { onProgress = () => {}, signal, unlockCode = null } = {}) {
    const { email } = await this.hello(QUICK_SECONDS);
    const begin = await this.request(Object.assign({
      type: "send_begin",
      message: { from: email, to: message.to, cc: message.cc, bcc: message.bcc, subject: message.subject, text: message.text, html: message.html },
      attachments: message.attachments.map((a) => ({ name: a.name, content_type: a.contentType, size: a.bytes.length, content_id: a.contentId })),
    }, unlockCode ? { unlock_code: unlockCode } : {}), { signal });
    const send = begin.send;
    try {
      for (let i = 0; i < message.attachments.length; i++) {
        const bytes = message.attachments[i].bytes;
        for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
          const data = encodeBase64(bytes.subarray(at, at + PIECE_BYTES));
          await this.request({ type: "send_piece", send, attachment: i, data }, { signal });
        }
      }
      // Progress is read beside the upload; the timer only reports, it never decides.
      const poll = setInterval(() => {
        post(this.fetchImpl, this.url, `/v1/progress/${send}`, { secret: this.secret, seconds: 2 })
          .then((p) => onProgress(p.done, p.total), () => {});
      }, 500);
      let done;
      try {
        done = await this.request({ type: "send_end", send }, { seconds: UPLOAD_SECONDS, signal });
      } finally {
        clearInterval(poll);
      }
      onProgress(begin.envelope_size, begin.envelope_size);
      return { id: done.message_id, link: done.link, stub: done.stub, notifiedByPlatform: !!done.notified_by_platform };
    } catch (e) {
      // Whatever broke, the helper drops the send: nothing of it is uploaded or finalised.
      await this.request({ type: "cancel", send }).catch(() => {});
      throw e;
    }
  }

  /** Makes a sealed message unreadable (its stub never left). */
  recall(id) {
    return this.request({ type: "recall", message_id: id });
  }
}
