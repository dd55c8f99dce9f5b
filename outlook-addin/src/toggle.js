/**
 * The ribbon's "Send secure" button: flips the request kept in the draft's internet header and
 * shows the state on the message itself (an informational notification), so it is always
 * visible while writing.
 */

import { secureRequested, setSecureRequested } from "./item.js";
import { call } from "./office.js";
import { t } from "./i18n.js";

/** The notification's key on the item. */
export const NOTICE_KEY = "sealpostSecure";

/** Toggles Send secure for `item`; resolves with the new state. */
export async function toggleSecure(item, lang) {
  const on = !(await secureRequested(item));
  await setSecureRequested(item, on);
  await showState(item, on, lang);
  return on;
}

/** Shows the state on the item (replacing the previous notice). */
export async function showState(item, on, lang) {
  await call("show the state", item.notificationMessages, "replaceAsync", NOTICE_KEY, {
    type: "informationalMessage",
    message: t(on ? "secureOn" : "secureOff", {}, lang),
    icon: "Icon.16",
    persistent: true,
  });
}
