/**
 * This message's unlock code: an optional code the sender sets for the draft being written and
 * passes on by phone. It waits in the session store under the draft's item id (session.js)
 * until the send takes it; setting one saves the draft, since a draft has no id before.
 * Outlooks without `getItemIdAsync` (Mailbox 1.8) cannot name the draft: the pane says so.
 */

import { t } from "../i18n.js";
import { canNameDraft, draftId, savedDraftId } from "../item.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN, checkedUnlockCode } from "../unlockcode.js";
import { UnlockCodeUnusable } from "../session.js";
import { $, say, show } from "./view.js";

const BOUNDS = { min: UNLOCK_CODE_MIN, max: UNLOCK_CODE_MAX };

/** Wires the form for the item being written and shows its code, if one is set. */
export async function setUpUnlock(pane) {
  const { lang } = pane;
  const item = pane.office.mailbox && pane.office.mailbox.item;
  if (!item || !canNameDraft(item, pane.office.requirements)) {
    say("unlock-state", t(item ? "unlockUnsupported" : "unlockNoMessage", {}, lang));
    show("unlock-form", false);
    return;
  }
  const input = $("unlock-code");
  input.maxLength = UNLOCK_CODE_MAX;
  $("unlock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = checkedUnlockCode(input.value);
    if (!code) {
      problem(t("unlockBadLength", BOUNDS, lang));
      return;
    }
    draftId(item)
      .then((key) => pane.session.setUnlockCode(key, code))
      .then(() => shown(code, lang), (e) => problem(t("unlockOutlookError", { detail: e.message }, lang)));
  });
  $("unlock-remove").addEventListener("click", () => {
    savedDraftId(item)
      .then((key) => key && pane.session.forgetUnlockCode(key))
      .then(() => shown(null, lang, "unlockRemoved"), (e) => problem(e.message));
  });
  // A draft saved before may have a code already; a new one has no id yet. Only the state line
  // changes, so nothing typed meanwhile is lost.
  const id = await savedDraftId(item);
  let code = null;
  try {
    code = id ? await pane.session.unlockCode(id) : null;
  } catch (e) {
    if (!(e instanceof UnlockCodeUnusable)) throw e;
    // Set, but no longer usable: its send is blocked until the code is set again or removed.
    say("unlock-state", t("unlockExpired", {}, lang));
    show("unlock-remove", true);
    return;
  }
  say("unlock-state", code ? t("unlockSet", { code }, lang) : t("unlockNone", {}, lang));
  show("unlock-remove", Boolean(code));
}

/** The state after a change: the code set (or none), no problem left standing. */
function shown(code, lang, noneKey = "unlockNone") {
  say("unlock-error", "");
  $("unlock-code").removeAttribute("aria-invalid");
  $("unlock-code").value = code || "";
  say("unlock-state", code ? t("unlockSet", { code }, lang) : t(noneKey, {}, lang));
  show("unlock-remove", Boolean(code));
}

function problem(message) {
  say("unlock-error", message);
  $("unlock-code").setAttribute("aria-invalid", "true");
  $("unlock-code").focus();
}
