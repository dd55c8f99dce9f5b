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

/** Waits for `promise`, failing with `what` after `ms`: nothing here may hang a test. */
function within(ms, what, promise) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** The folder `name` under Local Folders, created when missing. */
async function localFolder(name) {
  const accounts = await browser.accounts.list(false);
  const local = accounts.find(a => a.type === "none");
  if (!local) {
    throw new Error("no Local Folders account");
  }
  const find = async () =>
    (await browser.folders.query({ accountId: local.id, name })).find(f => f.path === `/${name}`);
  const existing = await find();
  if (existing) {
    return existing;
  }
  // Not what folders.create answers: on a fresh profile it has been seen to answer Trash
  // (created lazily at the same time), so the folder is looked up again by its path.
  await browser.folders.create(local.rootFolder.id, name);
  const created = await find();
  if (!created) {
    throw new Error(`folder ${name} was not created`);
  }
  return created;
}

/** Imports the control server's file `eml` into Local Folders/`folder` ("Imported" unless
 * given), as mail received, and opens a compose window from it: `how` is replyToSender (or
 * another reply type), forwardInline, forwardAsAttachment or editAsNew; `details` go to the
 * compose window as given. Measured with Thunderbird 153 and 140 headless: forwardInline and
 * editAsNew never open a window (Thunderbird's own message-to-draft path, which the API's
 * "fake it" branch uses) — hence the time limits — while replies and forwardAsAttachment do. */
async function importAndCompose(cmd, control) {
  const blob = await (await fetch(`${control}/file/${encodeURIComponent(cmd.eml)}`)).blob();
  const file = new File([blob], cmd.eml, { type: "message/rfc822" });
  const folder = await within(10_000, "finding the folder", localFolder(cmd.folder ?? "Imported"));
  const message = await within(20_000, "messages.import", browser.messages.import(file, folder.id));
  const details = cmd.details ?? {};
  let opening;
  if (cmd.how.startsWith("forward")) {
    opening = browser.compose.beginForward(message.id, cmd.how, details);
  } else if (cmd.how.startsWith("reply")) {
    opening = browser.compose.beginReply(message.id, cmd.how, details);
  } else if (cmd.how === "editAsNew") {
    opening = browser.compose.beginNew(message.id, details);
  } else {
    throw new Error(`unknown way to compose from a message: ${cmd.how}`);
  }
  const tab = await within(20_000, cmd.how, opening);
  const composed = await within(10_000, "getComposeDetails", browser.compose.getComposeDetails(tab.id));
  const attachments = await browser.compose.listAttachments(tab.id);
  return {
    tab: tab.id,
    message: message.id,
    body: composed.body,
    relatedMessageId: composed.relatedMessageId ?? null,
    attachments: attachments.map(a => ({ name: a.name, size: a.size })),
  };
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
    case "import_and_compose":
      return importAndCompose(cmd, control);
    case "body":
      return remaining(cmd.tab);
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
    case "open_options":
      return browser.composeUi.openOptions(cmd.extension ?? PRODUCT);
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
