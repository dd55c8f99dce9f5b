/**
 * The message being written, as Outlook's compose API shows it: reading what must be sealed,
 * and turning it into the stub that leaves over SMTP. Each Office call is awaited before the
 * next (see office.js).
 */

import { call } from "./office.js";
import { decodeBase64, encodeBase64 } from "./base64.js";

/** The internet header the ribbon toggle sets: the one state that reliably reaches the send
 * handler in every Outlook (custom properties and session data did not in new Outlook). */
export const SECURE_HEADER = "x-sealpost-secure";
export const SECURE_REQUESTED = "requested";
/** Set on the stub: Sealpost's message id, as the Thunderbird extension sets it. */
export const MESSAGE_ID_HEADER = "X-Sealpost-Message-Id";

/** A cloud ("share link") attachment: Outlook gives a URL, never the bytes. */
export class CloudAttachmentError extends Error {
  constructor(name) {
    super(`"${name}" is a link to a cloud file`);
    this.name = "CloudAttachmentError";
    this.attachment = name;
  }
}

/** Whether the toggle asked for this message to be secured. */
export async function secureRequested(item) {
  const headers = await call("read the message's headers", item.internetHeaders, "getAsync", [SECURE_HEADER]);
  return headerValue(headers, SECURE_HEADER) === SECURE_REQUESTED;
}

/**
 * Whether this Outlook can name the draft being written — `saveAsync` and `getItemIdAsync`
 * (Mailbox 1.8) — which is what a draft's unlock code is kept under (session.js).
 * `requirements` is `Office.context.requirements`.
 */
export function canNameDraft(item, requirements) {
  const supported = !requirements || typeof requirements.isSetSupported !== "function"
    || requirements.isSetSupported("Mailbox", "1.8");
  return Boolean(item) && supported
    && typeof item.saveAsync === "function" && typeof item.getItemIdAsync === "function";
}

/** The draft's item id, saving it first: a draft has none until it is saved. */
export async function draftId(item) {
  await call("save the draft", item, "saveAsync");
  return call("name the draft", item, "getItemIdAsync");
}

/** The draft's item id if it was saved before, else null; saves nothing. */
export async function savedDraftId(item) {
  try {
    return (await call("name the draft", item, "getItemIdAsync")) || null;
  } catch {
    return null;
  }
}

/** Turns the toggle on or off, and saves the draft so the state travels with it. */
export async function setSecureRequested(item, on) {
  if (on) {
    await call("mark the message secure", item.internetHeaders, "setAsync", { [SECURE_HEADER]: SECURE_REQUESTED });
  } else {
    await call("unmark the message", item.internetHeaders, "removeAsync", [SECURE_HEADER]);
  }
  await call("save the draft", item, "saveAsync");
}

function headerValue(headers, name) {
  if (!headers) return "";
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? String(headers[key]).trim() : "";
}

/**
 * Everything the send handler needs to decide and to seal, except attachment bytes:
 * `{to, cc, bcc, subject, bodyType, text, html, attachments}`, addresses lower-cased as
 * the platform compares them, attachments as Outlook describes them.
 */
export async function readMessage(item) {
  const to = await recipients(item.to, "To");
  const cc = await recipients(item.cc, "Cc");
  const bcc = item.bcc ? await recipients(item.bcc, "Bcc") : [];
  const subject = (await call("read the subject", item.subject, "getAsync")) || "";
  const bodyType = (await call("read the body's format", item.body, "getTypeAsync")) === "html" ? "html" : "text";
  const text = (await call("read the body", item.body, "getAsync", "text")) || "";
  const html = bodyType === "html" ? (await call("read the body", item.body, "getAsync", "html")) || "" : null;
  const attachments = (await call("list the attachments", item, "getAttachmentsAsync")) || [];
  return { to, cc, bcc, subject, bodyType, text, html, attachments };
}

async function recipients(field, label) {
  const list = (await call(`read the ${label} recipients`, field, "getAsync")) || [];
  return list.map((r) => String(r.emailAddress || "").trim().toLowerCase()).filter(Boolean);
}

/**
 * One attachment's bytes. Files come as base64; attached Outlook items as their .eml text;
 * calendar items as iCalendar text. Cloud attachments have no bytes: refused.
 */
export async function attachmentBytes(item, attachment) {
  if (attachment.attachmentType === "cloud") throw new CloudAttachmentError(attachment.name);
  const content = await call(`read the attachment "${attachment.name}"`, item, "getAttachmentContentAsync", attachment.id);
  switch (content && content.format) {
    case "base64":
      return decodeBase64(content.content);
    case "eml":
    case "iCalendar":
      return new TextEncoder().encode(content.content);
    case "url":
      throw new CloudAttachmentError(attachment.name);
    default:
      throw new Error(`attachment "${attachment.name}" came in an unknown format`);
  }
}

/**
 * Makes the item the stub: the header, the body in the format the user wrote, the subject the
 * platform chose, and the attachments removed one at a time (inline images go with the old
 * body: Outlook does not remove them by `removeAttachmentAsync`). If Outlook refuses any step,
 * what was changed is put back — body, subject, header, and removed attachments re-added from
 * the bytes just sealed — so that the item is again as the user wrote it, and the error is
 * rethrown.
 *
 * `original`: `{bodyType, body, subject, attachments: [{id, name, isInline, bytes}]}`.
 */
export async function replaceWithStub(item, { messageId, stub, original }) {
  const removed = [];
  try {
    await call("mark the stub", item.internetHeaders, "setAsync", { [MESSAGE_ID_HEADER]: messageId });
    const body = original.bodyType === "html" ? stub.html : stub.text;
    await call("replace the body with the link", item.body, "setAsync", body, { coercionType: original.bodyType });
    await call("replace the subject", item.subject, "setAsync", stub.subject);
    for (const a of original.attachments) {
      if (a.isInline) continue;
      await call(`remove the attachment "${a.name}"`, item, "removeAttachmentAsync", a.id);
      removed.push(a);
    }
  } catch (e) {
    await restore(item, original, removed).catch(() => {});
    throw e;
  }
}

async function restore(item, original, removed) {
  await call("restore the body", item.body, "setAsync", original.body, { coercionType: original.bodyType });
  await call("restore the subject", item.subject, "setAsync", original.subject);
  await call("restore the headers", item.internetHeaders, "removeAsync", [MESSAGE_ID_HEADER]);
  for (const a of removed) {
    await call(`attach "${a.name}" again`, item, "addFileAttachmentFromBase64Async", encodeBase64(a.bytes), a.name, { isInline: false });
  }
}
