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
 * another's never write the same record, so neither can undo the other. It is a secret on the
 * computer's disk (this storage is the only channel the two runtimes share), so it is kept for
 * UNLOCK_CODE_TTL_MS at most: whenever the task pane opens or a send ends, older codes are
 * replaced by a marker that holds no secret, only that a code was set. A send that finds its
 * draft's code expired (or unreadable) is blocked until the sender sets the code again or
 * removes it in the task pane: it never leaves without the code the sender asked for. Markers
 * of drafts nobody sent go after MARKER_TTL_MS.
 */

import { globalObject } from "./global.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN, checkedUnlockCode } from "./unlockcode.js";

const SESSION_KEY = "sealpost.session";
const STATUS_KEY = "sealpost.status";
const UNLOCK_PREFIX = "sealpost.unlock.";
/** How long a draft's unlock code waits for its send. */
export const UNLOCK_CODE_TTL_MS = 24 * 60 * 60 * 1000;
/** How long the marker of an expired code keeps blocking its draft's send. */
export const MARKER_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** A draft has an unlock code its send must not go without, and cannot use: `reason` is
 * "expired" or "damaged". */
export class UnlockCodeUnusable extends Error {
  constructor(reason) {
    super(`the unlock code set for this message is ${reason}`);
    this.name = "UnlockCodeUnusable";
    this.reason = reason;
  }
}

/** The storage the runtime offers: `{getItem, setItem, removeItem}`, async or not. */
export function defaultStore() {
  const runtime = globalObject.OfficeRuntime;
  if (runtime && runtime.storage) return runtime.storage;
  if (globalObject.localStorage) return globalObject.localStorage;
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
    await this.store.setItem(STATUS_KEY, JSON.stringify(Object.assign({}, status, { at: Date.now() })));
  }

  /**
   * Keeps `code` (trimmed) as the unlock code of the draft `itemKey` (its Outlook item id,
   * `getItemIdAsync`) until its send takes it. Throws a `RangeError` for a code the platform
   * would refuse.
   */
  async setUnlockCode(itemKey, code, now = Date.now()) {
    const checked = checkedUnlockCode(code);
    if (!checked) {
      throw new RangeError(`an unlock code has ${UNLOCK_CODE_MIN} to ${UNLOCK_CODE_MAX} characters`);
    }
    await this.store.setItem(unlockKey(itemKey), JSON.stringify({ code: checked, at: now }));
  }

  /**
   * The unlock code set for the draft `itemKey`, or null if none was; it stays set. Throws
   * `UnlockCodeUnusable` if one was set but is past UNLOCK_CODE_TTL_MS or unreadable.
   */
  async unlockCode(itemKey, now = Date.now()) {
    const raw = await this.store.getItem(unlockKey(itemKey));
    return raw == null ? null : usableCode(parsed(raw), now);
  }

  /** Forgets the unlock code of the draft `itemKey` (or its marker), if any. */
  async forgetUnlockCode(itemKey) {
    await this.store.removeItem(unlockKey(itemKey));
  }

  /**
   * Replaces every unlock code set longer than UNLOCK_CODE_TTL_MS ago (or unreadable) by a
   * marker without the secret, and forgets markers older than MARKER_TTL_MS. Needs a store that
   * lists its keys (`OfficeRuntime.storage.getKeys`, or `localStorage`); returns how many codes
   * it took off the disk.
   */
  async forgetStaleUnlockCodes(now = Date.now()) {
    let forgotten = 0;
    for (const key of await storeKeys(this.store)) {
      if (!key.startsWith(UNLOCK_PREFIX)) continue;
      const entry = parsed(await this.store.getItem(key));
      if (entry && entry.expired === true) {
        if (!(now - entry.at < MARKER_TTL_MS)) await this.store.removeItem(key);
        continue;
      }
      try {
        usableCode(entry, now);
      } catch (e) {
        if (!(e instanceof UnlockCodeUnusable)) throw e;
        await this.store.setItem(key, JSON.stringify({ expired: true, at: now }));
        forgotten++;
      }
    }
    return forgotten;
  }
}

/** A stored entry's code, if it may still be used at `now`; else `UnlockCodeUnusable`. */
function usableCode(entry, now) {
  if (entry && entry.expired === true) throw new UnlockCodeUnusable("expired");
  const code = entry && checkedUnlockCode(entry.code);
  if (!code || typeof entry.at !== "number") throw new UnlockCodeUnusable("damaged");
  if (!(now - entry.at < UNLOCK_CODE_TTL_MS)) throw new UnlockCodeUnusable("expired");
  return code;
}

function parsed(raw) {
  try {
    return raw == null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

/** The store's keys: `getKeys()` (OfficeRuntime.storage), or `length`/`key(i)` (Web Storage). */
async function storeKeys(store) {
  if (typeof store.getKeys === "function") return (await store.getKeys()) || [];
  if (typeof store.key === "function" && typeof store.length === "number") {
    const keys = [];
    for (let i = 0; i < store.length; i++) keys.push(store.key(i));
    return keys.filter((k) => k != null);
  }
  return [];
}

function unlockKey(itemKey) {
  if (typeof itemKey !== "string" || !itemKey) throw new TypeError("a draft's item id is needed");
  return UNLOCK_PREFIX + itemKey;
}
