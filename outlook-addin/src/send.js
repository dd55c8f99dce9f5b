/**
 * The `OnMessageSend` handler: decide, and if the message must be secured, seal and upload it,
 * turn the item into the stub, and only then let Outlook send. Fail closed: every failure —
 * not signed in, platform or helper unreachable, an upload error, the deadline, any exception —
 * ends in `allowEvent: false` with a message a person can act on and a button that opens the
 * task pane, and the item as the user wrote it. No timer ever allows a send; the one timer here
 * blocks it.
 */

import { abortable } from "./abort.js";
import { ApiError, ApiFailure } from "./api.js";
import { globalObject } from "./global.js";
import { CloudAttachmentError, attachmentBytes, canNameDraft, readMessage, replaceWithStub, savedDraftId, secureRequested } from "./item.js";
import { OfficeError } from "./office.js";
import { BridgeError } from "./transport/bridge.js";
import { t } from "./i18n.js";
import { UnlockCodeUnusable } from "./session.js";
import { contentIdFor, contentTypeOf, referencedContentIds } from "./parts.js";

/** The task pane button's control id in manifest.xml: the alert's "Take action" opens it. */
export const TASKPANE_COMMAND = "sealpostTaskpane";
/** Outlook gives a send handler about 300 s; this leaves room to block with a message. */
export const DEADLINE_SECONDS = 240;
/** The platform scans at most 4 MiB of each body for DLP patterns and secures anything longer
 * as `dlp_truncated`, so one byte more than that is all it needs to see (docs/api.md). */
const CLASSIFY_BODY_BYTES = (4 << 20) + 1;

/** A failure the handler explains with the string `key`. */
export class SendStopped extends Error {
  constructor(key, params = {}) {
    super(key);
    this.name = "SendStopped";
    this.key = key;
    this.params = params;
  }
}

/**
 * Runs the handler for `event`. `deps`: `item` (the compose item), `session` (session.js),
 * `transport` (resolves the transport for the current session; throws `SendStopped` when there
 * is none), `lang`, `deadlineSeconds`.
 */
export async function onMessageSend(event, deps) {
  const controller = abortable();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SendStopped("timedOut"));
    }, (deps.deadlineSeconds || DEADLINE_SECONDS) * 1000);
  });
  let outcome;
  try {
    const result = await Promise.race([secureIfNeeded(deps, controller.signal), deadline]);
    outcome = result === DELIVERED_BY_PLATFORM
      // Nothing may leave: the platform mailed every recipient their own link. The item is the
      // stub now, which the user can discard.
      ? { allowEvent: false, errorMessage: t("deliveredByPlatform", {}, deps.lang) }
      : { allowEvent: true };
  } catch (e) {
    controller.abort();
    const errorMessage = explain(e, deps.lang);
    outcome = { allowEvent: false, errorMessage, commandId: TASKPANE_COMMAND };
    await noteQuietly(deps.session, { phase: "failed", error: errorMessage });
  } finally {
    clearTimeout(timer);
  }
  // Codes of drafts deleted or never sent do not stay on the disk past their time.
  await Promise.resolve(deps.session && deps.session.forgetStaleUnlockCodes()).catch(() => {});
  event.completed(outcome);
  return outcome;
}

/** What `secureIfNeeded` answers when the platform, not Outlook, notified the recipients. */
const DELIVERED_BY_PLATFORM = "delivered-by-platform";

/** Decides; seals and replaces the item when the message must be secured. */
async function secureIfNeeded({ item, session, transport: transportFor }, signal) {
  const transport = await transportFor();
  const message = await readMessage(item);
  const toggle = await secureRequested(item);
  const decision = await transport.classify(candidateOf(message), toggle ? true : null);
  if (!decision.secure) return;
  await session.setStatus({ phase: "reading", transport: transport.name });
  // The unlock code the sender set in the task pane for this draft, if any: kept until the
  // send succeeds, so a failed send keeps it for the next Send.
  const draft = canNameDraft(item, requirements()) ? await savedDraftId(item) : null;
  const unlockCode = draft ? await draftUnlockCode(session, draft) : null;
  const attachments = await readAttachments(item, message);
  await session.setStatus({ phase: "uploading", done: 0, total: 0, transport: transport.name });
  const sent = await transport.send(
    { to: message.to, cc: message.cc, bcc: message.bcc, subject: message.subject, text: message.text, html: message.html, attachments },
    {
      signal,
      unlockCode,
      onProgress: (done, total) => noteQuietly(session, { phase: "uploading", done, total, transport: transport.name }),
    },
  );
  const original = {
    bodyType: message.bodyType,
    body: message.bodyType === "html" ? message.html : message.text,
    subject: message.subject,
    attachments: message.attachments.map((a, i) => Object.assign({}, a, { bytes: attachments[i].bytes })),
  };
  try {
    if (signal.aborted) throw new SendStopped("timedOut");
    await replaceWithStub(item, { messageId: sent.id, stub: sent.stub, original });
  } catch (e) {
    // Sealed and uploaded, but the item could not become the stub: the item is back as it was
    // written, and the sealed copy is recalled so that the next Send makes the only one.
    await transport.recall(sent.id).catch(() => {});
    throw e;
  }
  if (draft && unlockCode) await session.forgetUnlockCode(draft).catch(() => {});
  await session.setStatus({ phase: "sent", messageId: sent.id, transport: transport.name, unlockCode: Boolean(unlockCode) });
  return sent.notifiedByPlatform ? DELIVERED_BY_PLATFORM : "send";
}

/** The draft's unlock code, or null if none was set; a code set but expired or unreadable
 * stops the send (the sender sets it again or removes it in the task pane). */
async function draftUnlockCode(session, draft) {
  try {
    return await session.unlockCode(draft);
  } catch (e) {
    if (e instanceof UnlockCodeUnusable) {
      throw new SendStopped(e.reason === "expired" ? "unlockCodeExpired" : "unlockCodeDamaged");
    }
    throw e;
  }
}

/** Office's requirement sets, where the runtime offers them. */
function requirements() {
  const office = globalObject.Office;
  return office && office.context && office.context.requirements;
}

/** What policy decides on: the same candidate the helper's `classify` takes. */
export function candidateOf(message) {
  return {
    recipients: [...message.to, ...message.cc, ...message.bcc],
    subject: message.subject,
    text: truncateUtf8(message.text, CLASSIFY_BODY_BYTES),
    html: message.html == null ? null : truncateUtf8(message.html, CLASSIFY_BODY_BYTES),
    attachments: message.attachments.length,
  };
}

function truncateUtf8(text, bytes) {
  const encoded = new TextEncoder().encode(text);
  return encoded.length <= bytes ? text : new TextDecoder().decode(encoded.subarray(0, bytes));
}

/** Every attachment's bytes, inline images with the content id their `cid:` names. */
async function readAttachments(item, message) {
  const cids = referencedContentIds(message.html || "");
  const out = [];
  for (const a of message.attachments) {
    const bytes = await attachmentBytes(item, a);
    out.push({
      name: a.name,
      contentType: a.contentType || contentTypeOf(a.name),
      contentId: a.isInline ? contentIdFor(a, cids) : null,
      bytes,
    });
  }
  return out;
}

/** The message a person reads for failure `e`. */
export function explain(e, lang) {
  if (e instanceof SendStopped) return t(e.key, e.params, lang);
  if (e instanceof CloudAttachmentError) return t("cloudAttachment", { name: e.attachment }, lang);
  if (e instanceof OfficeError) return t("outlookError", { what: e.message }, lang);
  if (e instanceof BridgeError) return t("helperError", { detail: sentence(e.message) }, lang);
  if (e instanceof ApiError) {
    switch (e.kind) {
      case ApiFailure.Unreachable: return t("platformUnreachable", { origin: e.origin || "Sealpost" }, lang);
      case ApiFailure.TimedOut: return t("timedOut", {}, lang);
      case ApiFailure.SignedOut: return t("sessionEnded", {}, lang);
      default: return t("platformError", { detail: sentence(e.message) }, lang);
    }
  }
  return t("unexpected", { detail: (e && e.message) || String(e) }, lang);
}

function sentence(text) {
  const s = String(text || "").trim();
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Progress is for the task pane: its failure must not stop a send. */
async function noteQuietly(session, status) {
  try {
    await session.setStatus(status);
  } catch {
    // the status shown in the task pane is stale; the send itself is unaffected
  }
}
