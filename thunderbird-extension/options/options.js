// The options page: status, sign in and sign out, all through the background page (which
// owns the one connection to the helper). Passwords go to the helper and nowhere else.

import { translatePage } from "../src/page.js";

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);
const $ = id => document.getElementById(id);

const ask = request => browser.runtime.sendMessage(request);

async function showStatus() {
  $("status").textContent = t("optionsChecking");
  $("keys").textContent = "";
  $("token").textContent = "";
  const answer = await ask({ type: "status" });
  if (!answer.ok) {
    $("status").textContent = answer.text;
    $("sign-out").hidden = true;
    return;
  }
  const s = answer.reply;
  if (s.signed_in) {
    $("status").textContent = t("optionsSignedInAs", s.email, s.platform);
    $("keys").textContent = t("optionsKeys", s.platform_key_id ?? "—", s.own_key_id ?? "—");
    $("token").textContent = t(`optionsToken${s.token}`) || "";
    $("sign-out").hidden = false;
    $("platform").value = s.platform;
    $("email").value = s.email;
  } else {
    $("status").textContent = t("optionsNotSignedIn");
    $("sign-out").hidden = true;
  }
}

async function signIn(event) {
  event.preventDefault();
  const button = $("sign-in-button");
  button.disabled = true;
  $("sign-in-result").textContent = t("optionsSigningIn");
  try {
    const answer = await ask({
      type: "sign_in",
      platform: $("platform").value.trim(),
      email: $("email").value.trim(),
      password: $("password").value,
      totp: $("totp").value.trim(),
    });
    if (answer.ok) {
      $("sign-in-result").textContent = "";
      $("password").value = "";
      $("totp").value = "";
      $("totp-row").hidden = true;
    } else if (answer.detail === "totp_required") {
      $("totp-row").hidden = false;
      $("sign-in-result").textContent = t("optionsTotpNeeded");
      $("totp").focus();
    } else {
      $("sign-in-result").textContent = answer.text;
    }
  } finally {
    button.disabled = false;
    await showStatus();
  }
}

async function signOut() {
  const answer = await ask({ type: "sign_out" });
  await showStatus();
  $("sign-in-result").textContent = answer.ok
    ? t(answer.reply.revoked ? "optionsSignedOut" : "optionsSignedOutLocal")
    : answer.text;
}

translatePage("optionsTitle");
$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("refresh").addEventListener("click", showStatus);
showStatus();
