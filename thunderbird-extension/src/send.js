// The secure send: the message and its attachments streamed to the helper, sealed and
// uploaded there; what comes back is the stub that Thunderbird then sends instead.
//
// Nothing in the compose window changes until the helper has answered `send_end` with a
// link, so a failure at any point leaves body and attachments as the user wrote them.

import { HelperError } from "./helper.js";
import { imageBlob } from "./inline.js";
import { MESSAGE_ID_HEADER, outgoing } from "./message.js";

/** Pieces kept unacknowledged, as the protocol allows, to keep the pipe busy. */
const PIECES_IN_FLIGHT = 2;

/** Base64 of a Blob, encoded natively by the browser (no byte loop in JavaScript). */
function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = reader.result;
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(new HelperError("io", `cannot read an attachment: ${reader.error}`));
    reader.readAsDataURL(blob);
  });
}

/** How long a loopback upload may make no progress before it is given up. */
const PUT_SILENCE_MS = 60_000;

/**
 * Puts `file` to the helper's loopback listener (`upload` from `send_begin`) as attachment
 * `index`: the browser streams it from disk, raw — native messaging carries only JSON, and
 * base64 through Thunderbird's pipe is what made big attachments slow. `onSent(bytes)` tells
 * how far it is; `cancellation` aborts it.
 */
function put(upload, index, file, onSent, cancellation) {
  const xhr = new XMLHttpRequest();
  const stopHelper = cancellation.stopHelper;
  let silence = null;
  return new Promise((resolve, reject) => {
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        xhr.onabort = null;
        xhr.abort();
        reject(new HelperError("timeout", "the helper stopped taking an attachment"));
      }, PUT_SILENCE_MS);
    };
    xhr.open("PUT", `${upload.url}${index}`);
    xhr.setRequestHeader("Authorization", `Bearer ${upload.token}`);
    xhr.upload.onprogress = e => {
      watch();
      onSent(e.loaded);
    };
    xhr.onload = () => {
      if (xhr.status === 200) {
        resolve();
        return;
      }
      let error = {};
      try {
        error = JSON.parse(xhr.responseText);
      } catch {
        // Not the helper's JSON: the status says enough.
      }
      const why = error.message ?? `the helper refused an attachment (HTTP ${xhr.status})`;
      reject(new HelperError(error.code ?? "io", why));
    };
    xhr.onerror = () => reject(new HelperError("io", "cannot hand an attachment to the helper"));
    xhr.onabort = () => reject(new HelperError("cancelled", "the user cancelled the secure send"));
    cancellation.stopHelper = () => {
      xhr.abort();
      stopHelper?.();
    };
    watch();
    xhr.send(file);
  }).finally(() => {
    clearTimeout(silence);
    cancellation.stopHelper = stopHelper;
  });
}

/** Streams attachment `index` as `send_piece` requests, `PIECES_IN_FLIGHT` unanswered. */
async function pieces(helper, send, index, file, pieceBytes, onSent, cancellation) {
  const inFlight = [];
  for (let offset = 0; offset < file.size; offset += pieceBytes) {
    cancellation.check();
    const slice = file.slice(offset, Math.min(offset + pieceBytes, file.size));
    const data = await base64(slice);
    const end = offset + slice.size;
    inFlight.push(
      helper.request({ type: "send_piece", send, attachment: index, data }).then(() => onSent(end)),
    );
    if (inFlight.length >= PIECES_IN_FLIGHT) {
      await inFlight.shift();
    }
  }
  await Promise.all(inFlight);
}

/** Lets the user stop a running secure send (the button, clicked while it runs). */
export class Cancellation {
  constructor() {
    this.cancelled = false;
    this.stopHelper = null;
  }

  cancel() {
    this.cancelled = true;
    this.stopHelper?.();
  }

  check() {
    if (this.cancelled) {
      throw new HelperError("cancelled", "the user cancelled the secure send");
    }
  }
}

/**
 * Secures the message in compose tab `tabId`; returns the changes for `onBeforeSend`
 * (stub subject and body, the Sealpost header) and the platform's message id. The caller
 * removes the attachments once it commits to sending the stub.
 * `progress(phase, fraction)` is told how far it is; `cancellation` may stop it at any point.
 * `unlockCode`, when not null, is set on the platform before the message gets its link.
 */
export async function secure(helper, tabId, details, progress, cancellation, unlockCode = null) {
  const hello = await helper.greet();
  const pieceBytes = Math.max(64 * 1024, hello.max_piece_bytes ?? 4 * 1024 * 1024);
  const listed = await browser.compose.listAttachments(tabId);
  const files = [];
  for (const a of listed) {
    const file = await browser.compose.getAttachmentFile(a.id);
    files.push({ id: a.id, file, name: a.name || file.name, contentId: null });
  }
  const { message, images } = await outgoing(details);
  // Embedded images travel as parts after the attachments; Thunderbird has nothing to remove.
  for (const image of images) {
    files.push({ id: null, file: await imageBlob(image), name: image.name, contentId: image.contentId });
  }
  cancellation.check();
  const begun = await helper.request({
    type: "send_begin",
    message,
    attachments: files.map(f => ({
      name: f.name,
      content_type: f.file.type || "application/octet-stream",
      size: f.file.size,
      content_id: f.contentId,
    })),
    ...(unlockCode === null ? {} : { unlock_code: unlockCode }),
  });
  const send = begun.send;
  // The helper stops reading, sealing or uploading, and a running send_end answers `cancelled`.
  cancellation.stopHelper = () => helper.request({ type: "cancel", send }).catch(() => {});
  try {
    cancellation.check();
    const total = files.reduce((n, f) => n + f.file.size, 0);
    let before = 0;
    for (let index = 0; index < files.length; index++) {
      cancellation.check();
      const file = files[index].file;
      const onSent = sent => progress("reading", total ? (before + sent) / total : 1);
      if (begun.upload) {
        await put(begun.upload, index, file, onSent, cancellation);
      } else {
        await pieces(helper, send, index, file, pieceBytes, onSent, cancellation);
      }
      before += file.size;
    }
    cancellation.check();
    const done = await helper.request(
      { type: "send_end", send },
      { onProgress: p => progress(p.phase, p.total ? p.done / p.total : 0) },
    );
    return {
      messageId: done.message_id,
      link: done.link,
      attachmentIds: files.filter(f => f.id !== null).map(f => f.id),
      changes: stubDetails(details, done),
      // The tenant has the platform mail each recipient their own link: send nothing.
      notifiedByPlatform: done.notified_by_platform === true,
      stub: done.stub,
    };
  } catch (e) {
    // Stop the helper's side too; it uploads nothing more and finalises nothing.
    helper.request({ type: "cancel", send }).catch(() => {});
    throw e;
  }
}

/** The compose details that turn the message into its stub. */
function stubDetails(details, done) {
  const headers = (details.customHeaders ?? []).filter(
    h => h.name.toLowerCase() !== MESSAGE_ID_HEADER.toLowerCase(),
  );
  headers.push({ name: MESSAGE_ID_HEADER, value: done.message_id });
  const changes = { subject: done.stub.subject, customHeaders: headers };
  if (details.isPlainText) {
    changes.plainTextBody = done.stub.text;
  } else {
    changes.body = done.stub.html;
  }
  return changes;
}
