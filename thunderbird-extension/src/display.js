// "Open secure message" on a displayed stub: the Sent copy for the sender, the received stub
// for a recipient who also has Sealpost. Opens the link in the default browser, and only when
// it points at the user's own Sealpost platform, so a forged stub cannot send anyone elsewhere.

import { MESSAGE_ID_HEADER } from "./message.js";

const LINK = /https:\/\/[^\s"'<>]+\/m\/[A-Za-z0-9_-]+/;

/** The first Sealpost link in a message part tree's text bodies. */
function findLink(part) {
  if (typeof part.body === "string" && /^text\/(plain|html)/i.test(part.contentType ?? "")) {
    const m = part.body.match(LINK);
    if (m) {
      return m[0];
    }
  }
  for (const child of part.parts ?? []) {
    const found = findLink(child);
    if (found) {
      return found;
    }
  }
  return null;
}

export class StubOpener {
  constructor(helper) {
    this.helper = helper;
    this.links = new Map(); // tabId → link of the displayed stub
  }

  /** A message is shown in `tab`: offer the action when it is a Sealpost stub. */
  async displayed(tab, message) {
    this.links.delete(tab.id);
    let link = null;
    if (message) {
      const full = await browser.messages.getFull(message.id);
      const marked = Object.keys(full.headers ?? {}).includes(MESSAGE_ID_HEADER.toLowerCase());
      link = marked ? findLink(full) : null;
    }
    if (link) {
      this.links.set(tab.id, link);
      await browser.messageDisplayAction.enable(tab.id);
    } else {
      await browser.messageDisplayAction.disable(tab.id);
    }
  }

  /** The action was clicked: the link if it is on this user's platform; else why not. */
  async open(tab) {
    const link = this.links.get(tab.id);
    if (!link) {
      return { opened: false, reason: "no_link" };
    }
    const hello = await this.helper.greet();
    if (!hello.platform || new URL(link).origin !== new URL(hello.platform).origin) {
      return { opened: false, reason: "foreign_link" };
    }
    await browser.windows.openDefaultBrowser(link);
    return { opened: true };
  }

  forget(tabId) {
    this.links.delete(tabId);
  }
}
