/**
 * What the task pane's sign-in leaves for the send handler, and what a send leaves for the
 * task pane: one record per Outlook profile, kept in `OfficeRuntime.storage` — the storage the
 * task pane and the send handler's runtime share, classic Outlook's JavaScript-only runtime
 * included, which has no `localStorage` — or in `localStorage` where that is all there is.
 *
 * The device token is a bearer secret kept where a web session would be kept; it only sends
 * and classifies as its user, is listed and revocable under `GET /api/v1/tokens`, and signing
 * out revokes it. Where IT allows the helper bridge, the token stays in the OS keychain instead
 * (the helper's), and this record holds only the pairing.
 *
 * A draft's unlock code waits here, from the task pane to the send handler, under its own key
 * per draft (`sealpost.unlock.<item id>`): the pane setting one draft's code and a send taking
 * another's never write the same record, so neither can undo the other.
 */

import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN, checkedUnlockCode } from "./unlockcode.js";

const SESSION_KEY = "sealpost.session";
const STATUS_KEY = "sealpost.status";
const UNLOCK_PREFIX = "sealpost.unlock.";

/** The storage the runtime offers: `{getItem, setItem, removeItem}`, async or not. */
export function defaultStore() {
  const runtime = globalThis.OfficeRuntime;
  if (runtime && runtime.storage) return runtime.storage;
  if (globalThis.localStorage) return globalThis.localStorage;
  throw new Error("this Outlook offers the add-in no storage");
}

export class Session {
  constructor(store = defaultStore()) {
    this.store = store;
  }

  /**
   * `{origin, token, email, device, tokenId, bridge: {url, secret}}` or null: a direct
   * sign-in (`token`), a pairing with the helper (`bridge`), or both.
   */
  async load() {
    const raw = await this.store.getItem(SESSION_KEY);
    if (!raw) return null;
    try {
      const s = JSON.parse(raw);
      return s && s.origin && (s.token || s.bridge) ? s : null;
    } catch {
      return null;
    }
  }

  async save(session) {
    await this.store.setItem(SESSION_KEY, JSON.stringify(session));
  }

  async clear() {
    await this.store.removeItem(SESSION_KEY);
  }

  /**
   * What the last or current send is doing, for the task pane: `{phase, done, total,
   * messageId, error, transport, at}`, `phase` one of reading, uploading, sent, failed.
   * Written often during a send; never holds message content.
   */
  async status() {
    const raw = await this.store.getItem(STATUS_KEY);
    try {
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  async setStatus(status) {
    await this.store.setItem(STATUS_KEY, JSON.stringify({ ...status, at: Date.now() }));
  }

  /**
   * Keeps `code` (trimmed) as the unlock code of the draft `itemKey` (its Outlook item id,
   * `getItemIdAsync`) until its send takes it. Throws a `RangeError` for a code the platform
   * would refuse.
   */
  async setUnlockCode(itemKey, code) {
    const checked = checkedUnlockCode(code);
    if (!checked) {
      throw new RangeError(`an unlock code has ${UNLOCK_CODE_MIN} to ${UNLOCK_CODE_MAX} characters`);
    }
    await this.store.setItem(unlockKey(itemKey), JSON.stringify({ code: checked, at: Date.now() }));
  }

  /** The unlock code set for the draft `itemKey`, or null; it stays set. */
  async unlockCode(itemKey) {
    const raw = await this.store.getItem(unlockKey(itemKey));
    try {
      const entry = raw ? JSON.parse(raw) : null;
      return (entry && checkedUnlockCode(entry.code)) || null;
    } catch {
      return null;
    }
  }

  /** The unlock code set for the draft `itemKey`, or null; removed, so one send uses it. */
  async takeUnlockCode(itemKey) {
    const code = await this.unlockCode(itemKey);
    await this.store.removeItem(unlockKey(itemKey));
    return code;
  }
}

function unlockKey(itemKey) {
  if (typeof itemKey !== "string" || !itemKey) throw new TypeError("a draft's item id is needed");
  return UNLOCK_PREFIX + itemKey;
}
