// The "Send secure" button in each compose window: the user's choice for this message, its
// unlock code if the user set one, and what will happen on Send (the user's choice or the
// policy, with the policy's reasons), always visible as the button's icon, label and tooltip.

import { candidate } from "./message.js";
import { describeError, describeReasons } from "./words.js";

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);

export class Toggles {
  constructor(helper) {
    this.helper = helper;
    this.choice = new Map(); // tabId → true when the user switched "Send secure" on
    this.busy = new Map(); // tabs in the middle of a secure send → its Cancellation
    this.unlockCodes = new Map(); // tabId → the message's unlock code (memory only)
  }

  /** The unlock code the user set for the message in `tabId`, or null. */
  unlockCode(tabId) {
    return this.unlockCodes.get(tabId) ?? null;
  }

  /** Sets the unlock code of the message in `tabId` (null removes it). A message with an
   * unlock code is sent securely: setting one switches "Send secure" on. */
  async setUnlockCode(tabId, code) {
    if (code === null) {
      this.unlockCodes.delete(tabId);
    } else {
      this.unlockCodes.set(tabId, code);
      this.choice.set(tabId, true);
    }
    await this.refresh(tabId);
  }

  /** The user's button state for `tabId`: true (on) or null (left to policy). */
  toggle(tabId) {
    return this.choice.get(tabId) ?? null;
  }

  /** The button was clicked: during a secure send it cancels the send; otherwise it
   * switches the user's choice and shows the result. Switching it off drops the unlock code,
   * which only a secured message can carry. */
  async flip(tabId) {
    if (this.busy.has(tabId)) {
      this.busy.get(tabId).cancel();
      return;
    }
    if (this.toggle(tabId)) {
      this.choice.delete(tabId);
      this.unlockCodes.delete(tabId);
    } else {
      this.choice.set(tabId, true);
    }
    await this.refresh(tabId);
  }

  forget(tabId) {
    this.choice.delete(tabId);
    this.busy.delete(tabId);
    this.unlockCodes.delete(tabId);
  }

  /** Asks the helper what Send would do now, and shows it. */
  async refresh(tabId) {
    if (this.busy.has(tabId)) {
      return;
    }
    let verdict;
    try {
      const details = await browser.compose.getComposeDetails(tabId);
      const attachments = await browser.compose.listAttachments(tabId);
      verdict = await this.helper.request({
        type: "classify",
        toggle: this.toggle(tabId),
        candidate: await candidate(details, attachments.length),
      });
    } catch (e) {
      if (this.busy.has(tabId)) {
        return;
      }
      await this.show(tabId, "warning.svg", t("toggleLabelProblem"), describeError(e));
      return;
    }
    if (this.busy.has(tabId)) {
      return;
    }
    // The tooltip says that an unlock code is set, never what it is.
    const code = this.unlockCodes.has(tabId) ? ` ${t("toggleTitleUnlockCode")}` : "";
    if (!verdict.secure) {
      await this.show(tabId, "open.svg", t("toggleLabelOff"), t("toggleTitleOff"));
    } else if (verdict.required_by_policy) {
      const why = describeReasons(verdict.reasons);
      await this.show(tabId, "locked.svg", t("toggleLabelPolicy"), t("toggleTitlePolicy", why) + code);
    } else {
      await this.show(tabId, "locked.svg", t("toggleLabelOn"), t("toggleTitleOn") + code);
    }
  }

  /** Shows progress of a running secure send. */
  async progress(tabId, phase, fraction) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    const words = t(`phase_${phase}`) || phase;
    await browser.composeAction.setBadgeText({ tabId, text: `${percent}%` });
    await browser.composeAction.setTitle({ tabId, title: t("progressTitle", words, String(percent)) });
  }

  /** Shows a failed send: the button turns into a warning that says what happened. */
  async failed(tabId, text) {
    await this.show(tabId, "warning.svg", t("toggleLabelProblem"), text);
  }

  async show(tabId, icon, label, title) {
    await browser.composeAction.setBadgeText({ tabId, text: "" });
    await browser.composeAction.setIcon({ tabId, path: `icons/${icon}` });
    await browser.composeAction.setLabel({ tabId, label });
    await browser.composeAction.setTitle({ tabId, title });
  }
}
