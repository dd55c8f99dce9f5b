// The ribbon's Send secure button: the state is kept in the draft (the internet header the send
// handler reads) and always shown on the message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toggleSecure, NOTICE_KEY } from "../src/toggle.js";
import { secureRequested, SECURE_HEADER } from "../src/item.js";
import { composeItem } from "./outlook.js";

test("the toggle turns Send secure on and off, saved with the draft and shown on the item", async () => {
  const { item, state } = composeItem({ to: ["bob@outside.example"], subject: "x", body: "<p>x</p>" });
  assert.equal(await toggleSecure(item, "en"), true);
  assert.equal(state.headers[SECURE_HEADER], "requested");
  assert.equal(await secureRequested(item), true);
  assert.ok(state.saves >= 1, "the draft was saved, so the state travels with it");
  assert.match(state.notices[NOTICE_KEY].message, /Send secure is on/);
  assert.equal(state.notices[NOTICE_KEY].type, "informationalMessage");

  assert.equal(await toggleSecure(item, "de"), false);
  assert.ok(!(SECURE_HEADER in state.headers));
  assert.match(state.notices[NOTICE_KEY].message, /Sicher senden ist ausgeschaltet/);
});

test("a failing Outlook call is reported, not swallowed", async () => {
  const { item } = composeItem({ fail: { "internetHeaders.setAsync": "Not allowed." } });
  await assert.rejects(toggleSecure(item, "en"), /mark the message secure: Not allowed/);
});
