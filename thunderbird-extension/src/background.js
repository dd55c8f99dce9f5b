// Sealpost for Thunderbird: the background page that ties it together.
//
// On Send (compose.onBeforeSend) the helper classifies the message; a message to secure is
// streamed to the helper, sealed and uploaded, and Thunderbird sends the stub instead. Every
// failure cancels the send and says why (fail closed): nothing of a message that should be
// secured leaves over SMTP, and the compose window keeps what the user wrote.

import { Helper, HelperError } from "./helper.js";
import { StubOpener } from "./display.js";
import { candidate, sealpostHeader } from "./message.js";
import { Cancellation, secure } from "./send.js";
import { keepInSent } from "./sentcopy.js";
import { Toggles } from "./toggle.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN, checkedUnlockCode } from "./unlockcode.js";
import { describeError, describeReasons } from "./words.js";

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);

const helper = new Helper();
const toggles = new Toggles(helper);
const stubs = new StubOpener(helper);
/** Compose tab → the stub being sent there: `{messageId, changes}` (for `mark_sent`, and to
 * send exactly that stub again if the mail server refused it). */
const sending = new Map();

/** How often open compose windows are re-classified (recipients and subject change). */
const REFRESH_MS = 2500;

/** The Sealpost button's context-menu item that opens the unlock-code window. */
const UNLOCK_MENU = "unlock-code";

async function notify(title, message) {
  await browser.notifications.create({
    type: "basic",
    iconUrl: browser.runtime.getURL("icons/sealpost.svg"),
    title,
    message,
  });
}

/** Cancels the send: the button and a notification say what happened and what to do. */
async function refuse(tabId, error) {
  const text = describeError(error);
  console.warn(`sealpost: send cancelled (${error?.code ?? "error"}): ${error?.message ?? error}`);
  await toggles.failed(tabId, text).catch(() => {});
  await notify(t("sendCancelledTitle"), text).catch(() => {});
  return { cancel: true };
}

async function onBeforeSend(tab, details) {
  let verdict;
  try {
    const attachments = await browser.compose.listAttachments(tab.id);
    // Sending again after the mail server refused our stub: send exactly that stub, whatever
    // was typed into the window since. Anything else (attachments added, a header this tab
    // did not get from us) is classified like any new message, so nothing leaves unsecured.
    const previous = sending.get(tab.id);
    if (previous && sealpostHeader(details) === previous.messageId && attachments.length === 0) {
      return { details: previous.changes };
    }
    verdict = await helper.request({
      type: "classify",
      toggle: toggles.toggle(tab.id),
      candidate: await candidate(details, attachments.length),
    });
  } catch (e) {
    return refuse(tab.id, e);
  }
  if (!verdict.secure) {
    return {};
  }
  const cancellation = new Cancellation();
  toggles.busy.set(tab.id, cancellation);
  try {
    const result = await secure(
      helper,
      tab.id,
      details,
      (phase, fraction) => toggles.progress(tab.id, phase, fraction).catch(() => {}),
      cancellation,
      toggles.unlockCode(tab.id),
    );
    cancellation.check(); // a click after the last answer still stops the send
    for (const id of result.attachmentIds) {
      await browser.compose.removeAttachment(tab.id, id);
    }
    if (result.notifiedByPlatform) {
      return await deliveredByPlatform(tab, result, details);
    }
    sending.set(tab.id, { messageId: result.messageId, changes: result.changes });
    await toggles.show(tab.id, "locked.svg", t("toggleLabelSent"), t("toggleTitleSent"));
    if (verdict.required_by_policy) {
      await notify(t("sentSecureTitle"), t("sentSecureByPolicy", describeReasons(verdict.reasons)));
    }
    return { details: result.changes };
  } catch (e) {
    return refuse(tab.id, e);
  } finally {
    toggles.busy.delete(tab.id);
  }
}

/**
 * The platform mailed every recipient their own link (the tenant's "platform sends" mode):
 * nothing leaves this window. It is turned into the stub first (so not even a draft saved on
 * closing holds the message), the stub is kept in the Sent folder as the sender's record, the
 * user is told, and the window closes.
 */
async function deliveredByPlatform(tab, result, details) {
  await browser.compose.setComposeDetails(tab.id, result.changes);
  const kept = await keepInSent(details, result.messageId, result.stub).catch(e => {
    console.warn(`sealpost: could not keep a copy in Sent: ${e}`);
    return true;
  });
  if (!kept) {
    console.warn("sealpost: the account has no Sent folder yet; no copy was kept");
  }
  await toggles.show(tab.id, "locked.svg", t("toggleLabelSent"), t("toggleTitleSent"));
  await notify(t("sentSecureTitle"), t("sentByPlatform")).catch(() => {});
  // After Thunderbird has taken the cancelled send back.
  setTimeout(() => browser.windows.remove(tab.windowId).catch(() => {}), 1000);
  return { cancel: true };
}

async function onAfterSend(tab, sendInfo) {
  const messageId = sending.get(tab.id)?.messageId;
  if (!messageId || sendInfo.error) {
    return; // not ours, or the stub did not go out: a later send reports it
  }
  sending.delete(tab.id);
  try {
    await helper.request({ type: "mark_sent", message_id: messageId });
  } catch (e) {
    console.warn(`sealpost: could not report the stub as sent: ${e.code ?? e}`);
  }
}

async function refreshComposeTabs() {
  const tabs = await browser.tabs.query({ type: "messageCompose" });
  await Promise.all(tabs.map(tab => toggles.refresh(tab.id)));
}

/** The unlock-code window of compose tab `tabId`. */
async function openUnlockWindow(tabId) {
  await browser.windows.create({
    type: "popup",
    url: `unlock/unlock.html?tab=${tabId}`,
    width: 520,
    height: 360,
  });
}

/** `tabId` if it is a compose tab whose unlock code may change now; otherwise an error that
 * says why not. */
async function unlockableTab(tabId) {
  const tab = Number.isInteger(tabId) ? await browser.tabs.get(tabId).catch(() => null) : null;
  if (tab?.type !== "messageCompose") {
    throw new HelperError("bad_request", t("unlockGone"));
  }
  if (toggles.busy.has(tabId)) {
    throw new HelperError("bad_request", t("unlockBusy"));
  }
  return tabId;
}

/** Requests from the options page and the unlock-code window (this extension's own pages
 * only). */
async function fromOwnPages(request, sender) {
  if (sender.id !== browser.runtime.id || !sender.url?.startsWith(browser.runtime.getURL(""))) {
    return { ok: false, code: "bad_request", text: "" };
  }
  const allowed = {
    unlock_code_get: async () => ({ code: toggles.unlockCode(await unlockableTab(request.tab)) }),
    unlock_code_set: async () => {
      const tabId = await unlockableTab(request.tab);
      const code = request.code === null ? null : checkedUnlockCode(request.code);
      if (code === null && request.code !== null) {
        const bounds = [String(UNLOCK_CODE_MIN), String(UNLOCK_CODE_MAX)];
        throw new HelperError("bad_request", t("unlockBadLength", ...bounds));
      }
      await toggles.setUnlockCode(tabId, code);
      return {};
    },
    status: () => helper.request({ type: "status", check: true }),
    sign_in: () =>
      helper.request({
        type: "sign_in",
        platform: request.platform || undefined,
        email: request.email,
        password: request.password,
        totp: request.totp || undefined,
      }),
    sign_out: () => helper.request({ type: "sign_out" }),
  };
  const run = allowed[request?.type];
  if (!run) {
    return { ok: false, code: "bad_request", text: "" };
  }
  try {
    const reply = await run();
    if (request.type === "sign_in" || request.type === "sign_out") {
      helper.hello = null; // the sign-in changed
      refreshComposeTabs().catch(() => {});
    }
    return { ok: true, reply };
  } catch (e) {
    // The unlock-code window's refusals are this page's own words, not a helper code's.
    const text = request.type.startsWith("unlock_code") ? e.message : describeError(e);
    return { ok: false, code: e.code ?? "helper_error", detail: e.detail ?? null, text };
  }
}

browser.compose.onBeforeSend.addListener(onBeforeSend);
browser.compose.onAfterSend.addListener(onAfterSend);
browser.composeAction.onClicked.addListener(tab => toggles.flip(tab.id));
browser.tabs.onCreated.addListener(tab => {
  if (tab.type === "messageCompose") {
    toggles.refresh(tab.id).catch(() => {});
  }
});
browser.tabs.onRemoved.addListener(tabId => {
  toggles.forget(tabId);
  stubs.forget(tabId);
  sending.delete(tabId);
});
browser.messageDisplay.onMessageDisplayed.addListener((tab, message) =>
  stubs.displayed(tab, message).catch(e => console.warn(`sealpost: ${e}`)),
);
browser.messageDisplayAction.onClicked.addListener(async tab => {
  const result = await stubs.open(tab).catch(e => ({ opened: false, reason: e.code ?? "error" }));
  if (!result.opened) {
    await notify(t("openSecureTitle"), t(`open_${result.reason}`) || t("open_error"));
  }
});
browser.runtime.onMessage.addListener(fromOwnPages);
browser.menus.create({ id: UNLOCK_MENU, title: t("unlockMenu"), contexts: ["compose_action"] });
browser.menus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === UNLOCK_MENU && tab) {
    openUnlockWindow(tab.id).catch(e => console.warn(`sealpost: ${e}`));
  }
});
browser.messageDisplayAction.disable();
setInterval(() => refreshComposeTabs().catch(() => {}), REFRESH_MS);
refreshComposeTabs().catch(() => {});
