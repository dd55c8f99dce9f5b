// The sender's record of a secure message the platform delivered itself (the organisation's
// "platform sends" mode): Thunderbird sent nothing, so the stub is put into the Sent folder
// of the sending identity's account, as a normal send would have left it.

import { MESSAGE_ID_HEADER, addresses } from "./message.js";

/** A header value on one line; non-ASCII as one RFC 2047 encoded word. */
function headerValue(text) {
  const line = String(text ?? "").replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(line)) {
    return line;
  }
  let binary = "";
  for (const byte of new TextEncoder().encode(line)) {
    binary += String.fromCharCode(byte);
  }
  return `=?UTF-8?B?${btoa(binary)}?=`;
}

/** The folder marked as Sent in this folder tree, depth first. */
function sentFolder(folders) {
  for (const folder of folders ?? []) {
    if (folder.specialUse?.includes("sent") || folder.type === "sent") {
      return folder;
    }
    const inner = sentFolder(folder.subFolders);
    if (inner) {
      return inner;
    }
  }
  return null;
}

/**
 * Imports the stub (`stub`: {subject, text}) of platform message `messageId`, sent from
 * `details`, into the Sent folder. Returns false when there is no Sent folder to put it in.
 */
export async function keepInSent(details, messageId, stub) {
  const identity = await browser.identities.get(details.identityId);
  const account = await browser.accounts.get(identity.accountId, true);
  const folder = sentFolder(account.folders);
  if (!folder) {
    return false;
  }
  const [from] = await addresses(details.from);
  const to = [...(await addresses(details.to)), ...(await addresses(details.cc))];
  const lines = [
    `From: ${headerValue(from)}`,
    `To: ${headerValue(to.join(", "))}`,
    `Subject: ${headerValue(stub.subject)}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${messageId}@sealpost.sent>`,
    `${MESSAGE_ID_HEADER}: ${messageId}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    stub.text.replace(/\r?\n/g, "\r\n"),
  ];
  const file = new File([lines.join("\r\n")], "sealpost-sent.eml", { type: "message/rfc822" });
  await browser.messages.import(file, folder.id ?? folder, { read: true });
  return true;
}
