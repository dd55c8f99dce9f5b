/**
 * Signing in: email and password, and the second-factor code once the platform asks for it
 * (`totp_required`). Success saves the session (session.js) where the send handler finds it;
 * a failure says what to do (present.js).
 */

import { Platform } from "../api.js";
import { t } from "../i18n.js";
import { deviceName, signInProblem } from "./present.js";
import { $, say, show } from "./view.js";

/**
 * Wires the form; `onSignedIn(session)` runs after each successful sign-in. The email field
 * starts with the mailbox's own address when Outlook gives it.
 */
export function setUpSignIn(pane, onSignedIn) {
  const profile = pane.office.mailbox && pane.office.mailbox.userProfile;
  if (profile && profile.emailAddress) $("email").value = profile.emailAddress;
  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(pane).then((session) => session && onSignedIn(session));
  });
}

/** Shows the form, with `message` (why the user is here again) when given. */
export function showSignIn(message = "") {
  say("sign-in-error", message);
  show("sign-in-section");
  $($("email").value ? "password" : "email").focus();
}

/** One attempt; resolves with the saved session, or null after showing why not. */
async function signIn(pane) {
  const email = $("email").value.trim();
  const password = $("password").value;
  const withCode = !$("totp-row").hidden;
  if (!email || !password) {
    say("sign-in-error", t("signInMissing", {}, pane.lang));
    $(email ? "password" : "email").focus();
    return null;
  }
  const button = $("sign-in-button");
  button.disabled = true;
  button.textContent = t("signingIn", {}, pane.lang);
  say("sign-in-error", "");
  const device = deviceName(pane.platform, pane.lang);
  try {
    const totp = withCode ? $("totp").value.trim() : "";
    const answer = await new Platform(pane.origin).signIn({ email, password, totp, device });
    const session = { origin: pane.origin, token: answer.token, email: answer.user.email, device, tokenId: answer.token_id };
    await pane.session.save(session);
    $("password").value = "";
    $("totp").value = "";
    show("totp-row", false);
    show("sign-in-section", false);
    return session;
  } catch (e) {
    const { message, needsCode } = signInProblem(e, { lang: pane.lang, withCode, origin: pane.origin });
    show("totp-row", needsCode);
    say("sign-in-error", message);
    if (needsCode) $("totp").focus();
    return null;
  } finally {
    button.disabled = false;
    button.textContent = t("signInButton", {}, pane.lang);
  }
}
