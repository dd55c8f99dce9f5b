/**
 * A scripted Office host for the browser tests: stands in for Office.js (which loads only
 * inside Outlook) on the add-in's real pages served by the platform. The test defines
 * `window.__composeSpec` (the message being written, see compose-item.js) before the page
 * loads; the host records what the runtime associates and lets the test fire the send event:
 * `await window.__sealpost.send()` resolves with how the handler completed it.
 */

import { composeItem } from "./compose-item.js";

const made = composeItem(window.__composeSpec || {});
const handlers = {};
window.Office = {
  context: {
    mailbox: { item: made.item },
    displayLanguage: (window.__composeSpec && window.__composeSpec.language) || "en-US",
    platform: "OfficeOnline",
  },
  actions: { associate: (name, fn) => { handlers[name] = fn; } },
  onReady: (cb) => Promise.resolve({ host: "Outlook", platform: "OfficeOnline" }).then((info) => (cb ? cb(info) : info)),
  AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
};
window.__sealpost = {
  state: made.state,
  handlers,
  send: () => new Promise((resolve) => handlers.onMessageSend({ completed: resolve })),
  toggle: () => new Promise((resolve) => handlers.toggleSecure({ completed: resolve })),
};
