/**
 * A fake Office — what Office.js gives the add-in inside Outlook — around the compose item of
 * compose-item.js. It is the one stand-in for Office in every test: the Node tests see it
 * through office-addin-mock (outlook.js), the Chromium tests get it bundled in place of
 * Office.js on the add-in's real pages (fake-office-host.js), and the JavaScript-only runtime
 * test puts it, without `onReady`, in a bare `node:vm` context (classic-runtime.test.js).
 *
 * Nothing here touches a browser or Node API, so the same code runs in all three.
 */

import { composeItem } from "./compose-item.js";

/**
 * @param {object} spec the message being written (see compose-item.js), and the Outlook it is
 *   written in: `language` ("en-US"), `platform` (Office.PlatformType, "OfficeOnline"),
 *   `mailbox` (the highest Mailbox requirement set, "1.12"; below 1.8 the item has no
 *   `getItemIdAsync`, as in such an Outlook), `email` (the mailbox's user), `item: false`
 *   (no compose item: the task pane opened elsewhere).
 * @returns `{Office, item, state, handlers, fire}`: `handlers` are the functions the add-in
 *   associated (`Office.actions.associate`), `fire(name)` runs one as Outlook runs an event or
 *   a ribbon command and resolves with how it completed the event.
 */
export function officeHost(spec = {}) {
  const mailbox = spec.mailbox || "1.12";
  const platform = spec.platform || "OfficeOnline";
  const made = spec.item === false ? { item: null, state: null } : composeItem(spec);
  if (made.item && !atLeast(mailbox, "1.8")) delete made.item.getItemIdAsync;
  const handlers = {};
  const Office = {
    context: {
      displayLanguage: spec.language || "en-US",
      diagnostics: { platform, hostName: "Outlook" },
      requirements: {
        isSetSupported: (name, version) => name === "Mailbox" && atLeast(mailbox, version || "1.1"),
      },
      mailbox: {
        item: made.item,
        userProfile: { emailAddress: spec.email || "alice@acme.example", displayName: "Alice Example" },
      },
    },
    actions: { associate: (name, fn) => { handlers[name] = fn; } },
    onReady: (callback) => {
      const ready = new Promise((resolve) => setTimeout(() => resolve({ host: "Outlook", platform }), 10));
      return callback ? ready.then(callback) : ready;
    },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
  };
  const fire = (name) => {
    if (!handlers[name]) return Promise.reject(new Error(`the add-in associated no "${name}"`));
    const event = sendEvent();
    handlers[name](event);
    return event.done;
  };
  return { Office, item: made.item, state: made.state, handlers, fire };
}

/** An event as Outlook hands it to a handler: it records every `completed(options)`, and
 * `done` resolves with the first (Outlook acts on that one). */
export function sendEvent() {
  let resolve;
  const e = { completions: [], done: new Promise((r) => { resolve = r; }) };
  e.completed = (options) => {
    e.completions.push(options);
    resolve(options);
  };
  return e;
}

/** An in-memory `OfficeRuntime.storage`. */
export function memoryStore() {
  const m = new Map();
  return {
    getItem: async (k) => (m.has(k) ? m.get(k) : null),
    setItem: async (k, v) => { m.set(k, String(v)); },
    removeItem: async (k) => { m.delete(k); },
    getKeys: async () => [...m.keys()],
  };
}

function atLeast(have, want) {
  const [a, b] = [have, want].map((v) => v.split(".").map(Number));
  return a[0] > b[0] || (a[0] === b[0] && (a[1] || 0) >= (b[1] || 0));
}
