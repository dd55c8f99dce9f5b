/**
 * Pairing with the Sealpost helper on this computer (its Outlook bridge): once paired, and
 * while the helper answers signed in, messages go through it (transport/index.js). Pairing is
 * open until the first pairing, or for two minutes after `sealpost-helper bridge --pair`, so a
 * page alone cannot pair behind the person's back.
 */

import { t } from "../i18n.js";
import { BridgeTransport, DEFAULT_BRIDGE_URL, pairWithHelper } from "../transport/bridge.js";
import { $, say, show } from "./view.js";

/** Wires the Pair button; `onPaired(session)` runs with the session that now holds the pairing. */
export function setUpHelper(pane, onPaired) {
  show("helper-section");
  $("pair-helper").addEventListener("click", () => {
    $("pair-helper").disabled = true;
    say("helper-error", "");
    say("helper-state", t("helperPairing", {}, pane.lang));
    pair(pane)
      .then((session) => {
        say("helper-state", t("helperPaired", { email: session.email }, pane.lang));
        return onPaired(session);
      })
      .catch((e) => {
        say("helper-state", "");
        say("helper-error", explain(e, pane));
      })
      .finally(() => { $("pair-helper").disabled = false; });
  });
}

/** Pairs, checks the helper can send for this platform, and keeps the pairing in the session. */
async function pair(pane) {
  const pairing = await pairWithHelper(DEFAULT_BRIDGE_URL);
  const hello = await new BridgeTransport(pairing).hello(5);
  if (!hello.signed_in) throw new HelperProblem("helperNotSignedIn");
  if (originOf(hello.platform) !== pane.origin) {
    throw new HelperProblem("helperOtherPlatform", { platform: hello.platform, origin: pane.origin });
  }
  const session = (await pane.session.load()) || { origin: pane.origin, email: hello.email };
  const paired = Object.assign({}, session, { bridge: pairing });
  await pane.session.save(paired);
  return paired;
}

class HelperProblem extends Error {
  constructor(key, params = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}

function explain(e, pane) {
  if (e instanceof HelperProblem) return t(e.key, e.params, pane.lang);
  if (e && e.code === "pairing_closed") return t("helperPairingClosed", {}, pane.lang);
  return t("helperNotRunning", {}, pane.lang);
}

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}
