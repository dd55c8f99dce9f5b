/**
 * A compose item as Outlook's API shows it to the add-in: callback-style methods over a
 * message the test can inspect afterwards — its recipients, subject, body in the format it was
 * written, attachments with their bytes, and internet headers. Like Outlook, it refuses a
 * second attachment removal while one is running (parallel removes fail with change-key
 * conflicts) and gives cloud attachments no bytes. `fail` makes a method fail as Office does
 * (`{status: "failed", error}`): `{method: message}` always, `{method: {after: n, message}}`
 * after n calls that succeed. A draft has no item id until it is saved (`saveAsync`), unless
 * it was saved before (`saved`).
 *
 * This is the one fake of the item: office-host.js puts it in a fake Office, which the Node
 * tests see through office-addin-mock (outlook.js), the Chromium tests bundled into the add-in's
 * pages (fake-office-host.js), and the JavaScript-only runtime test in a bare `node:vm` context.
 */

import { encodeBase64 } from "../src/base64.js";

const ok = (value) => ({ status: "succeeded", value });
const failed = (name, message) => ({ status: "failed", error: { name, message, code: 9999 } });

/**
 * @param {object} m `{to, cc, bcc, subject, bodyType, body, attachments: [{name, bytes,
 *   contentType, isInline, attachmentType}], headers, itemId, saved, fail: {method: message}}`;
 *   `itemId` is the id the draft has once saved ("AAMk-draft-1" unless given).
 */
export function composeItem(m) {
  const draftId = m.itemId || "AAMk-draft-1";
  const state = {
    to: m.to || [],
    cc: m.cc || [],
    bcc: m.bcc || [],
    subject: m.subject || "",
    bodyType: m.bodyType || "html",
    body: m.body || "",
    attachments: (m.attachments || []).map((a, i) => ({ id: `att-${i}`, attachmentType: "file", isInline: false, ...a })),
    headers: { ...(m.headers || {}) },
    notices: {},
    saves: 0,
    itemId: m.saved ? draftId : null,
    calls: [],
    removing: false,
  };
  const fail = m.fail || {};
  const failing = (method) => {
    const f = fail[method];
    if (!f) return null;
    if (typeof f === "string") return f;
    return state.calls.filter((c) => c === method).length > f.after ? f.message : null;
  };
  const answer = (method, cb, fn) => {
    state.calls.push(method);
    setTimeout(() => {
      const refusal = failing(method);
      if (refusal) return cb(failed("GenericResponseError", refusal));
      try {
        cb(ok(fn()));
      } catch (e) {
        cb(failed(e.name || "Error", e.message));
      }
    });
  };
  const addresses = (list) => list.map((e) => ({ emailAddress: e, displayName: e.split("@")[0], recipientType: "externalUser" }));
  const recipients = (field) => ({ getAsync: (cb) => answer(`${field}.getAsync`, cb, () => addresses(state[field])) });
  const item = {
    itemType: "message",
    to: recipients("to"),
    cc: recipients("cc"),
    bcc: recipients("bcc"),
    subject: {
      getAsync: (cb) => answer("subject.getAsync", cb, () => state.subject),
      setAsync: (v, cb) => answer("subject.setAsync", cb, () => { state.subject = v; }),
    },
    body: {
      getTypeAsync: (cb) => answer("body.getTypeAsync", cb, () => state.bodyType),
      getAsync: (type, cb) => answer("body.getAsync", cb, () => (type === "text" ? textOf(state) : state.body)),
      setAsync: (v, options, cb) => answer("body.setAsync", cb, () => {
        if (v.length > 1_000_000) throw new Error("The body is too long.");
        state.body = v;
        state.bodyType = options.coercionType;
      }),
    },
    internetHeaders: {
      getAsync: (names, cb) => answer("internetHeaders.getAsync", cb, () =>
        Object.fromEntries(names.filter((n) => n in state.headers).map((n) => [n, state.headers[n]]))),
      setAsync: (headers, cb) => answer("internetHeaders.setAsync", cb, () => Object.assign(state.headers, headers)),
      removeAsync: (names, cb) => answer("internetHeaders.removeAsync", cb, () => names.forEach((n) => delete state.headers[n])),
    },
    notificationMessages: {
      replaceAsync: (key, notice, cb) => answer("notificationMessages.replaceAsync", cb, () => { state.notices[key] = notice; }),
    },
    saveAsync: (cb) => answer("saveAsync", cb, () => { state.saves++; state.itemId = draftId; return state.itemId; }),
    getItemIdAsync: (cb) => answer("getItemIdAsync", cb, () => {
      if (!state.itemId) throw new Error("The item has not been saved.");
      return state.itemId;
    }),
    getAttachmentsAsync: (cb) => answer("getAttachmentsAsync", cb, () =>
      state.attachments.map(({ id, name, bytes, attachmentType, isInline, contentType }) =>
        ({ id, name, size: bytes ? bytes.length : 0, attachmentType, isInline, contentType }))),
    getAttachmentContentAsync: (id, cb) => answer("getAttachmentContentAsync", cb, () => {
      const a = state.attachments.find((x) => x.id === id);
      if (!a) throw new Error("The attachment is not found.");
      if (a.attachmentType === "cloud") return { format: "url", content: "https://contoso.sharepoint.com/f" };
      if (a.attachmentType === "item") return { format: "eml", content: new TextDecoder().decode(a.bytes) };
      // Outlook holds the content already; a test may hand it over as `base64` up front.
      if (a.base64 === undefined) a.base64 = encodeBase64(a.bytes);
      return { format: "base64", content: a.base64 };
    }),
    removeAttachmentAsync: (id, cb) => {
      if (state.removing) return cb(failed("ItemChangeKeyConflict", "The item was changed by another request."));
      state.removing = true;
      answer("removeAttachmentAsync", (r) => { state.removing = false; cb(r); }, () => {
        const i = state.attachments.findIndex((x) => x.id === id);
        if (i < 0) throw new Error("The attachment is not found.");
        state.attachments.splice(i, 1);
      });
    },
  };
  return { item, state };
}

/** Outlook's plain-text rendering of the body: tags out, entities kept simple. */
function textOf(state) {
  return state.bodyType === "text" ? state.body : state.body.replace(/<[^>]*>/g, "").replace(/&amp;/g, "&");
}

