/* Test-only driver: takes commands from the test harness's control server (long poll on
   /next), does them with the real compose API, and posts each result back. Commands may
   overlap; the harness waits for each result it needs. */
"use strict";

const PRODUCT = "sealpost@sealpost.net";

async function config() {
  const r = await fetch(browser.runtime.getURL("config.json"));
  return r.json();
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function compose(cmd, control) {
  const attachments = [];
  for (const a of cmd.attachments ?? []) {
    const blob = await (await fetch(`${control}/file/${encodeURIComponent(a.name)}`)).blob();
    attachments.push({ file: new File([blob], a.name, { type: a.type ?? "application/octet-stream" }) });
  }
  const details = {
    to: cmd.to ?? [],
    cc: cmd.cc ?? [],
    bcc: cmd.bcc ?? [],
    subject: cmd.subject,
    attachments,
  };
  if (cmd.from) {
    details.from = cmd.from;
  }
  if (cmd.above_signature != null) {
    // The identity's own body (its signature, as Thunderbird inserts it) with the test's
    // HTML written above it, as a user types above their signature.
    details.isPlainText = false;
  } else if (cmd.html != null) {
    details.isPlainText = false;
    details.body = cmd.html;
  } else {
    details.isPlainText = true;
    details.plainTextBody = cmd.text ?? "";
  }
  const tab = await browser.compose.beginNew(details);
  if (cmd.above_signature != null) {
    const { body } = await browser.compose.getComposeDetails(tab.id);
    await browser.compose.setComposeDetails(tab.id, {
      body: body.replace(/<body([^>]*)>/, (open) => open + cmd.above_signature),
    });
  }
  for (let i = 0; i < 100; i++) {
    const listed = await browser.compose.listAttachments(tab.id);
    if (listed.length === attachments.length) {
      break;
    }
    await sleep(100);
  }
  return { tab: tab.id };
}

async function remaining(tab) {
  const details = await browser.compose.getComposeDetails(tab);
  const attachments = await browser.compose.listAttachments(tab);
  return {
    subject: details.subject,
    body: details.isPlainText ? details.plainTextBody : details.body,
    attachments: attachments.map(a => ({ name: a.name, size: a.size })),
  };
}

async function send(cmd) {
  const t0 = Date.now();
  try {
    const r = await browser.compose.sendMessage(cmd.tab, { mode: "sendNow" });
    return { sent: true, t0, t1: Date.now(), headerMessageId: r?.headerMessageId ?? null };
  } catch (e) {
    return { sent: false, t0, t1: Date.now(), error: String(e), remaining: await remaining(cmd.tab) };
  }
}

async function run(cmd, control) {
  switch (cmd.op) {
    case "compose":
      return compose(cmd, control);
    case "click_toggle":
      await browser.composeUi.click(cmd.tab, PRODUCT);
      return {};
    case "button":
      return browser.composeUi.describe(cmd.tab, PRODUCT);
    case "send":
      return send(cmd);
    case "open_message": {
      const tab = await browser.messageDisplay.open({
        headerMessageId: cmd.headerMessageId,
        location: "tab",
        active: true,
      });
      return { tab: tab.id };
    }
    case "menu_item":
      return browser.composeUi.menuItem(cmd.tab, PRODUCT, cmd.item);
    case "page":
      return browser.composeUi.page(cmd.url, cmd.action, cmd.selector, cmd.value ?? "");
    case "display_action":
      return browser.composeUi.displayAction(cmd.tab, PRODUCT, Boolean(cmd.click));
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

async function main() {
  const { control } = await config();
  for (;;) {
    let cmd;
    try {
      cmd = await (await fetch(`${control}/next`)).json();
    } catch {
      await sleep(300);
      continue;
    }
    if (cmd.op === "idle") {
      continue;
    }
    // Commands run concurrently: a test can read the button while a send is running.
    run(cmd, control)
      .then(
        result => ({ ok: true, ...result }),
        e => ({ ok: false, error: String(e) }),
      )
      .then(result =>
        fetch(`${control}/result/${cmd.id}`, { method: "POST", body: JSON.stringify(result) }),
      )
      .catch(() => {});
  }
}

main();
