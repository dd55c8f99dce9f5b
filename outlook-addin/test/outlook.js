/**
 * The compose item of compose-item.js on office-addin-mock (host "outlook"), as the Node tests
 * hand it to the add-in, and the other pieces of a fake Outlook: a send event, a storage.
 */

import { OfficeMockObject } from "office-addin-mock";
import { composeItem as plainItem } from "./compose-item.js";

/** A compose item (see compose-item.js) behind office-addin-mock, as Outlook would hand it over. */
export function composeItem(m) {
  const { item, state } = plainItem(m);
  const office = new OfficeMockObject({ context: { mailbox: { item }, displayLanguage: m.language || "en-US" } }, "outlook");
  return { item: office.context.mailbox.item, state, office };
}

/** A send event that records how the handler completed it. */
export function sendEvent() {
  const e = { completions: [] };
  e.completed = (options) => e.completions.push(options);
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
