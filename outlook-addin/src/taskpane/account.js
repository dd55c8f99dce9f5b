/**
 * Signed in: which platform (and whether it answers `/healthz`), who (`/me`), how messages go
 * (the transport `transportFor` picks for this session), the platform key's fingerprint, and
 * signing out — which clears the session here even when the platform cannot revoke the token.
 */

import { ApiFailure, Platform } from "../api.js";
import { t } from "../i18n.js";
import { allSettled } from "../settle.js";
import { transportFor } from "../transport/index.js";
import { groupedHex, healthText } from "./present.js";
import { $, say, show } from "./view.js";

/** Seconds a sign-out waits for the platform before it signs out here alone. */
const SIGN_OUT_SECONDS = 10;
/** The transports' names (transport/index.js) in words. */
const TRANSPORTS = { direct: "transportDirect", helper: "transportHelper" };
/** Hex digits of the key id shown before "show the whole key". */
const SHORT_KEY_DIGITS = 16;

/** Wires Sign out; `onSignedOut(message)` runs once the session is gone. */
export function setUpAccount(pane, onSignedOut) {
  $("sign-out").addEventListener("click", () => {
    $("sign-out").disabled = true;
    signOut(pane).then(onSignedOut).finally(() => { $("sign-out").disabled = false; });
  });
}

/**
 * Shows `session` and checks it with the platform. Resolves false when the platform says the
 * token is no longer valid (the session is cleared then), true otherwise.
 */
export async function showAccount(pane, session) {
  const { lang } = pane;
  say("platform-origin", session.origin);
  say("platform-health", t("checking", {}, lang));
  say("user", session.email);
  say("key-short", t("checking", {}, lang));
  show("key-more", false);
  const transport = await transportFor(pane.session).catch(() => null);
  const name = transport ? transport.name : "direct";
  say("transport", TRANSPORTS[name] ? t(TRANSPORTS[name], {}, lang) : name);
  show("account-section");

  const platform = new Platform(session.origin, session.token);
  // Paired with the helper only, there is no token here to ask /me with.
  const whoAmI = session.token ? platform.me() : Promise.resolve({ email: session.email });
  const [health, me, key] = await allSettled([platform.health(), whoAmI, platform.platformKey()]);
  say("platform-health", healthText(health.status === "fulfilled" ? { ok: true } : { error: health.reason }, lang));
  if (key.status === "fulfilled") {
    say("key-short", groupedHex(key.value.key_id, SHORT_KEY_DIGITS));
    say("key-full", groupedHex(key.value.key_id));
    show("key-more");
  } else {
    say("key-short", t("keyUnknown", {}, lang));
  }
  if (me.status === "fulfilled") {
    say("user", me.value.email);
  } else if (me.reason.kind === ApiFailure.SignedOut) {
    await pane.session.clear();
    show("account-section", false);
    return false;
  } else {
    say("user", t("userUnchecked", { email: session.email }, lang));
  }
  return true;
}

/** Clears the session first (no send may use it from now on), then revokes the token. */
async function signOut(pane) {
  const session = await pane.session.load();
  await pane.session.clear();
  show("account-section", false);
  if (!session || !session.token) return t("signedOut", {}, pane.lang);
  try {
    await new Platform(session.origin, session.token).signOut({ seconds: SIGN_OUT_SECONDS });
  } catch (e) {
    // 401: the token was revoked already, which is what signing out wants.
    if (e.kind !== ApiFailure.SignedOut) {
      return t("signedOutLocally", { origin: session.origin, device: session.device || "Outlook" }, pane.lang);
    }
  }
  return t("signedOut", {}, pane.lang);
}
