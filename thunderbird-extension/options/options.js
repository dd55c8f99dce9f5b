// The options page: status, sign in and sign out, all through the background page (which
// owns the one connection to the helper). Passwords go to the helper and nowhere else.
// Where IT deployed Sealpost, Thunderbird's policy hands over IT's platform address
// (3rdparty → storage.managed; installer/debian/client/client-setup): the form shows it and
// cannot change it, as the helper would refuse any other.

import { translatePage } from "../src/page.js";

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);
const $ = id => document.getElementById(id);

const ask = request => browser.runtime.sendMessage(request);

/** IT's platform address from Thunderbird's policy, or null where IT set none. */
async function platformSetByIt() {
  try {
    const { platform } = await browser.storage.managed.get("platform");
    return typeof platform === "string" && platform ? platform : null;
  } catch {
    return null; // no policy for this extension
  }
}

async function showPlatformSetByIt() {
  const platform = await platformSetByIt();
  if (platform) {
    $("platform").value = platform;
    $("platform").readOnly = true;
    $("platform-set-by-it").hidden = false;
  }
}

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
showPlatformSetByIt().finally(() => {
  document.body.dataset.ready = "1";
});
$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("refresh").addEventListener("click", showStatus);
showStatus();
