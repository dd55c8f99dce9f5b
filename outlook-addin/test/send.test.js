// The send handler against the real platform: what leaves Outlook is the stub, what the
// platform keeps is the message byte for byte, and every failure blocks the send with a
// message and leaves the item as written.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { onMessageSend, TASKPANE_COMMAND } from "../src/send.js";
import { Session, UNLOCK_CODE_TTL_MS } from "../src/session.js";
import { transportFor } from "../src/transport/index.js";
import { SECURE_HEADER, MESSAGE_ID_HEADER } from "../src/item.js";
import { TestPlatform, ALICE } from "./platform.js";
import { composeItem, sendEvent, memoryStore } from "./outlook.js";

let platform;
let token;
before(async () => {
  platform = await TestPlatform.start();
  token = await platform.signIn();
});
after(() => platform.remove());

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
  "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d7a8b40000000049454e44ae426082", "hex");

/** A signed-in session on `origin` (the platform's unless told otherwise). */
async function signedIn({ origin = platform.origin, t = token } = {}) {
  const session = new Session(memoryStore());
  await session.save({ origin, token: t, email: ALICE, device: "Outlook test" });
  return session;
}

/** Runs the handler as Outlook would for `item`. */
async function send(item, session, { fetchImpl = platform.fetch, lang = "en", deadlineSeconds } = {}) {
  const event = sendEvent();
  await onMessageSend(event, { item, session, transport: () => transportFor(session, fetchImpl), lang, deadlineSeconds });
  assert.equal(event.completions.length, 1, "completed exactly once");
  return event.completions[0];
}

function richMessage(overrides = {}) {
  return composeItem({
    to: ["bob@outside.example"],
    cc: ["carol@acme.example"],
    bcc: ["dave@hidden.example"],
    subject: "Q3 figures — Zürich ✓",
    bodyType: "html",
    body: '<html><body><p style="color:#c00">Hi Bob, <b>figures</b> attached.</p><img src="cid:logo.png@01DB"></body></html>',
    attachments: [
      { name: "figures.bin", bytes: randomBytes(1 << 20), contentType: "application/octet-stream" },
      { name: "empty.txt", bytes: Buffer.alloc(0) },
      { name: "logo.png", bytes: PNG, isInline: true, contentType: "image/png" },
    ],
    ...overrides,
  });
}

test("a message policy secures leaves as the stub; the platform keeps it byte for byte", async () => {
  const { item, state } = richMessage();
  const original = structuredClone({ body: state.body, subject: state.subject, attachments: state.attachments });
  const asked = [];
  const recording = (url, options) => { asked.push(String(url)); return platform.fetch(url, options); };
  const outcome = await send(item, await signedIn(), { fetchImpl: recording });
  const lookups = asked.filter((u) => u.includes("/api/v1/keys/lookup"));
  assert.ok(lookups.length > 0 && lookups.every((u) => !u.includes("hidden.example")),
    "no key is looked up, so none wrapped, for a Bcc recipient");
  assert.deepEqual(outcome, { allowEvent: true });

  const id = state.headers[MESSAGE_ID_HEADER];
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.match(state.body, new RegExp(`${platform.origin}/m/`), "the body is the stub with the link");
  assert.ok(!state.body.includes("figures</b>"), "nothing of the message stays in the body");
  assert.equal(state.bodyType, "html");
  assert.match(state.subject, /^Secure message/);
  assert.deepEqual(state.attachments.map((a) => a.name), ["logo.png"], "files removed; the inline image goes with the old body");
  assert.ok(!state.body.includes("dave@hidden.example"), "Bcc appears in nothing others get");

  const kept = platform.exportMessage(id);
  assert.equal(kept.html, original.body);
  assert.equal(kept.manifest.metadata.subject, original.subject);
  assert.deepEqual(kept.manifest.metadata.to, ["bob@outside.example"]);
  assert.deepEqual(kept.manifest.metadata.cc, ["carol@acme.example"]);
  assert.ok(!JSON.stringify(kept.manifest).includes("dave@"), "the manifest has no Bcc");
  for (const a of original.attachments) {
    assert.ok(kept.attachments.get(a.name).equals(Buffer.from(a.bytes)), `${a.name} byte for byte`);
  }
  const logo = kept.manifest.attachments.find((a) => a.name === "logo.png");
  assert.equal(logo.content_id, "logo.png@01DB", "the inline image keeps the cid its HTML names");
  const slip = (await platform.sent(token)).find((m) => m.id === id);
  assert.ok(slip, "the message is in the sender's list");
});

test("a plain-text message gets a plain-text stub", async () => {
  const { item, state } = composeItem({ to: ["bob@outside.example"], subject: "plain", bodyType: "text", body: "Hi Bob,\nplain words.\n" });
  assert.deepEqual(await send(item, await signedIn()), { allowEvent: true });
  assert.equal(state.bodyType, "text");
  assert.match(state.body, /\/m\//);
  assert.ok(!state.body.includes("plain words"));
  assert.equal(platform.exportMessage(state.headers[MESSAGE_ID_HEADER]).text, "Hi Bob,\nplain words.\n");
});

test("a message policy does not secure leaves untouched", async () => {
  const before = (await platform.sent(token)).length;
  const { item, state } = composeItem({ to: ["carol@acme.example"], subject: "lunch", body: "<p>noon?</p>", attachments: [{ name: "menu.txt", bytes: Buffer.from("soup") }] });
  assert.deepEqual(await send(item, await signedIn()), { allowEvent: true });
  assert.equal(state.body, "<p>noon?</p>");
  assert.equal(state.subject, "lunch");
  assert.equal(state.attachments.length, 1);
  assert.ok(!(MESSAGE_ID_HEADER in state.headers));
  assert.equal((await platform.sent(token)).length, before, "nothing was uploaded");
});

test("Send secure on the ribbon secures a message policy would let go", async () => {
  const { item, state } = composeItem({ to: ["carol@acme.example"], subject: "lunch", body: "<p>noon?</p>", headers: { [SECURE_HEADER]: "requested" } });
  assert.deepEqual(await send(item, await signedIn()), { allowEvent: true });
  assert.match(state.body, /\/m\//);
  assert.equal(platform.exportMessage(state.headers[MESSAGE_ID_HEADER]).html, "<p>noon?</p>");
});

/** Every failure: blocked, with the message and the task pane button, the item as written. */
async function assertBlocked(made, session, pattern, options) {
  const { item, state } = made;
  const files = () => Object.fromEntries(state.attachments.map((a) => [a.name, Buffer.from(a.bytes).toString("base64")]));
  const original = structuredClone({ body: state.body, subject: state.subject, files: files(), headers: state.headers });
  const outcome = await send(item, session, options);
  assert.equal(outcome.allowEvent, false);
  assert.match(outcome.errorMessage, pattern);
  assert.equal(outcome.commandId, TASKPANE_COMMAND);
  assert.equal(state.body, original.body, "the body is as written");
  assert.equal(state.subject, original.subject);
  assert.deepEqual(files(), original.files, "the same attachments, byte for byte");
  assert.deepEqual(state.headers, original.headers);
  return outcome;
}

test("not signed in: blocked, and told to sign in", async () => {
  await assertBlocked(richMessage(), new Session(memoryStore()), /sign in before sending/);
});

test("platform unreachable: blocked, naming the platform", async () => {
  const session = await signedIn({ origin: "https://127.0.0.1:9" });
  await assertBlocked(richMessage(), session, /could not reach https:\/\/127\.0\.0\.1:9/);
});

test("a revoked sign-in: blocked, and told to sign in again", async () => {
  const revoked = await platform.signIn();
  await platform.fetch(`${platform.origin}/api/v1/tokens/current`, { method: "DELETE", headers: { Authorization: `Bearer ${revoked}` } });
  await assertBlocked(richMessage(), await signedIn({ t: revoked }), /sign-in has ended/);
});

test("a cloud attachment: blocked, saying to attach a copy", async () => {
  const made = richMessage();
  made.state.attachments.push({ id: "cloud-1", name: "plan.docx", attachmentType: "cloud", isInline: false, bytes: Buffer.alloc(0) });
  await assertBlocked(made, await signedIn(), /"plan\.docx" is a shared link.*Attach a copy/);
});

test("an upload error: blocked with the platform's reason", async () => {
  platform.setPolicy({ max_envelope_bytes: 1024 });
  try {
    await assertBlocked(richMessage(), await signedIn(), /could not send this message securely: .+/);
  } finally {
    platform.setPolicy({ max_envelope_bytes: 1 << 30 });
  }
});

test("the deadline: blocked, never released by the timer", async () => {
  // A platform that accepts the connection and never answers.
  const { createServer } = await import("node:net");
  const silent = createServer(() => {}).listen(0, "127.0.0.1");
  await new Promise((ok) => silent.once("listening", ok));
  try {
    const session = await signedIn({ origin: `https://127.0.0.1:${silent.address().port}` });
    await assertBlocked(richMessage(), session, /took too long/, { deadlineSeconds: 1 });
  } finally {
    silent.close();
  }
});

test("Outlook refuses to remove an attachment: blocked, the item restored, the sealed copy recalled", async () => {
  // The first file goes, the second cannot: the first must come back.
  const made = richMessage({ fail: { removeAttachmentAsync: { after: 1, message: "The item was changed by another request." } } });
  made.item.addFileAttachmentFromBase64Async = (b64, name, options, cb) => {
    made.state.attachments.push({ id: `re-${name}`, name, bytes: Buffer.from(b64, "base64"), attachmentType: "file", isInline: false });
    setImmediate(() => cb({ status: "succeeded", value: `re-${name}` }));
  };
  const before = new Set((await platform.sent(token)).map((m) => m.id));
  await assertBlocked(made, await signedIn(), /Outlook did not let Sealpost remove the attachment "empty\.txt"/);
  const figures = made.state.attachments.find((a) => a.name === "figures.bin");
  assert.equal(figures.id, "re-figures.bin", "the removed file was attached again");
  const added = (await platform.sent(token)).filter((m) => !before.has(m.id));
  assert.equal(added.length, 1);
  assert.equal(added[0].state, "recalled", "the copy nobody got a link to is recalled");
});

test("German Outlook: the message is in German", async () => {
  await assertBlocked(richMessage(), new Session(memoryStore()), /Bitte vor dem Senden anmelden/, { lang: "de" });
});

test("paired with a helper that is not running: the direct transport sends", async () => {
  const session = new Session(memoryStore());
  await session.save({ origin: platform.origin, token, email: ALICE, bridge: { url: "http://127.0.0.1:9", secret: "x" } });
  const { item, state } = composeItem({ to: ["bob@outside.example"], subject: "fallback", body: "<p>via direct</p>" });
  assert.deepEqual(await send(item, session), { allowEvent: true });
  assert.equal(platform.exportMessage(state.headers[MESSAGE_ID_HEADER]).html, "<p>via direct</p>");
  assert.equal(JSON.parse(await session.store.getItem("sealpost.status")).transport, "direct");
});

test("paired with a helper but never signed in directly, and the helper is gone: blocked", async () => {
  const session = new Session(memoryStore());
  await session.save({ origin: platform.origin, email: ALICE, bridge: { url: "http://127.0.0.1:9", secret: "x" } });
  await assertBlocked(richMessage(), session, /sign in before sending/);
});

test("the unlock code the sender set in the task pane guards the message, and is used once", async () => {
  const session = await signedIn();
  const made = richMessage({ itemId: "AAMk-draft-unlock", saved: true });
  await session.setUnlockCode("AAMk-draft-unlock", "7 blue herons");
  assert.deepEqual(await send(made.item, session), { allowEvent: true });
  const id = made.state.headers[MESSAGE_ID_HEADER];
  const r = await platform.fetch(`${platform.origin}/api/v1/messages/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(JSON.parse(await r.text()).unlock_code, true, "the platform holds an unlock code for it");
  assert.equal(await session.unlockCode("AAMk-draft-unlock"), null, "taken: the next message starts without");
});

test("an unlock code past its day blocks the send until it is set again; nothing is uploaded", async () => {
  const session = await signedIn();
  const made = richMessage({ itemId: "AAMk-draft-stale", saved: true });
  await session.setUnlockCode("AAMk-draft-stale", "7 blue herons", Date.now() - UNLOCK_CODE_TTL_MS - 1000);
  const newest = async () => ((await platform.sent(token))[0] || {}).id;
  const before = await newest();
  await assertBlocked(made, session, /more than a day old.*set the code again/);
  assert.equal(await newest(), before, "nothing went to the platform");
  assert.ok(!(await session.store.getItem("sealpost.unlock.AAMk-draft-stale")).includes("7 blue herons"),
    "the code itself is off the disk");
  await assertBlocked(made, session, /more than a day old/); // still blocked, not sent without it
  await session.setUnlockCode("AAMk-draft-stale", "7 blue herons");
  assert.deepEqual(await send(made.item, session), { allowEvent: true });
});

test("a failed send keeps the draft's unlock code for the next Send", async () => {
  const session = await signedIn({ origin: "https://127.0.0.1:9" });
  const made = richMessage({ itemId: "AAMk-draft-kept", saved: true });
  await session.setUnlockCode("AAMk-draft-kept", "7 blue herons");
  await assertBlocked(made, session, /could not reach/);
  assert.equal(await session.unlockCode("AAMk-draft-kept"), "7 blue herons");
});
