// The "Unlock code" window of one compose tab (opened from the Sealpost button's context
// menu). The code goes to the background page, which keeps it in memory for that tab and
// hands it to the helper on Send; it is never stored.

import { translatePage } from "../src/page.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN, checkedUnlockCode, suggestUnlockCode } from "../src/unlockcode.js";

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);
const $ = id => document.getElementById(id);
const tab = Number(new URLSearchParams(location.search).get("tab"));
const ask = request => browser.runtime.sendMessage({ ...request, tab });

async function close() {
  const me = await browser.windows.getCurrent();
  await browser.windows.remove(me.id);
}

async function set(event) {
  event.preventDefault();
  const code = checkedUnlockCode($("code").value);
  if (code === null) {
    $("problem").textContent = t("unlockBadLength", String(UNLOCK_CODE_MIN), String(UNLOCK_CODE_MAX));
    $("code").focus();
    return;
  }
  const answer = await ask({ type: "unlock_code_set", code });
  if (!answer?.ok) {
    $("problem").textContent = answer?.text || t("unlockGone");
    return;
  }
  await close();
}

async function remove() {
  await ask({ type: "unlock_code_set", code: null });
  await close();
}

async function start() {
  translatePage("unlockTitle");
  const answer = await ask({ type: "unlock_code_get" });
  if (!answer?.ok) {
    $("problem").textContent = answer?.text || t("unlockGone");
    $("set").disabled = true;
    $("suggest").disabled = true;
    document.body.dataset.ready = "true";
    return;
  }
  const current = answer.reply.code;
  $("code").value = current ?? "";
  $("remove").hidden = current == null;
  $("unlock").addEventListener("submit", set);
  $("suggest").addEventListener("click", () => {
    $("code").value = suggestUnlockCode();
    $("problem").textContent = "";
    $("code").focus();
  });
  $("remove").addEventListener("click", remove);
  $("close").addEventListener("click", close);
  $("code").addEventListener("input", () => ($("problem").textContent = ""));
  $("code").focus();
  document.body.dataset.ready = "true"; // filled in and listening
}

start();
