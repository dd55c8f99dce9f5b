/**
 * The task pane (taskpane.html, bundled into `dist/taskpane.js`): sign in, the state of
 * Sealpost in this Outlook, this message's unlock code, and the current or last send. The
 * platform serves the pane, so the platform is this page's own origin. Each part is a module
 * of its own; this one starts them once Office is ready and moves between signed in and out.
 */

import { currentLanguage, t } from "../i18n.js";
import { Session } from "../session.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN } from "../unlockcode.js";
import { setUpAccount, showAccount } from "./account.js";
import { setUpHelper } from "./helper.js";
import { watchSends } from "./progress.js";
import { setUpSignIn, showSignIn } from "./signin.js";
import { setUpUnlock } from "./unlock.js";
import { localise, say, show } from "./view.js";

Office.onReady((info) => {
  start(info || {}).catch((e) => {
    show("loading");
    say("loading", (e && e.message) || String(e));
  });
});

async function start(info) {
  const pane = {
    lang: currentLanguage(),
    session: new Session(),
    office: Office.context || {},
    platform: info.platform,
    origin: location.origin,
  };
  localise(pane.lang, { min: UNLOCK_CODE_MIN, max: UNLOCK_CODE_MAX });
  const signedIn = async (session) => {
    show("unlock-section");
    if (!(await showAccount(pane, session))) signedOut(t("sessionGone", {}, pane.lang));
  };
  const signedOut = (message) => {
    show("unlock-section", false);
    showSignIn(message);
  };
  setUpSignIn(pane, signedIn);
  setUpAccount(pane, signedOut);
  setUpHelper(pane, (session) => {
    show("sign-in-section", false);
    return signedIn(session);
  });
  // Not awaited: the pane does not wait on Outlook to show who is signed in. Codes past their
  // time are taken off the disk first (session.js).
  pane.session.forgetStaleUnlockCodes().catch(() => {})
    .then(() => setUpUnlock(pane))
    .catch((e) => say("unlock-error", (e && e.message) || String(e)));
  watchSends(pane);
  show("loading", false);
  const session = await pane.session.load();
  if (session) await signedIn(session);
  else signedOut();
}
