// What the task pane says (src/taskpane/present.js): sign-in failures a person can act on,
// the device name, the key fingerprint, the platform's health and the send status record.
// The page itself is tested in Chromium against the real platform (tests/outlook/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, ApiFailure } from "../src/api.js";
import { deviceName, groupedHex, healthText, inTime, percentText, sendView, signInProblem, STALLED_SECONDS } from "../src/taskpane/present.js";

const refused = (status, error) => new ApiError(status === 401 ? ApiFailure.SignedOut : ApiFailure.Refused,
  error.message || "", { status, code: error.code, body: { error } });
const origin = "https://sealpost.acme.example";

test("a sign-in failure says what to do, and asks for the code only when the platform does", () => {
  const en = { lang: "en", withCode: false, origin };
  assert.deepEqual(signInProblem(refused(401, { code: "totp_required" }), en),
    { message: "Enter the 6-digit code from your authenticator app, then sign in again.", needsCode: true });
  assert.deepEqual(signInProblem(refused(401, { code: "bad_credentials" }), en),
    { message: "Wrong email address or password.", needsCode: false });
  assert.match(signInProblem(refused(401, { code: "bad_credentials" }), { ...en, withCode: true }).message, /password or code/);
  assert.equal(signInProblem(refused(401, { code: "bad_credentials" }), { ...en, withCode: true }).needsCode, true,
    "a wrong code keeps the code field");
  assert.equal(signInProblem(refused(429, { code: "locked", retry_after_seconds: 899 }), en).message,
    "Too many failed sign-ins: this account is locked. Try again in 15 minutes.");
  assert.equal(signInProblem(refused(429, { code: "locked", retry_after_seconds: 899 }), { ...en, lang: "de" }).message,
    "Zu viele fehlgeschlagene Anmeldungen: Dieses Konto ist gesperrt. Versuchen Sie es in 15 Minuten erneut.");
  assert.match(signInProblem(refused(429, { code: "rate_limited", retry_after_seconds: 20 }), en).message, /in 20 seconds/);
  for (const kind of [ApiFailure.Unreachable, ApiFailure.TimedOut]) {
    assert.equal(signInProblem(new ApiError(kind, "x"), en).message,
      `Sealpost could not reach ${origin}. Check your connection, then sign in again.`);
  }
  assert.match(signInProblem(refused(400, { code: "bad_request", message: "the password is too long" }), en).message,
    /refused the sign-in: the password is too long/);
});

test("waits read in minutes from one minute on", () => {
  assert.equal(inTime(1, "en"), "in 1 second");
  assert.equal(inTime(60, "en"), "in 1 minute");
  assert.equal(inTime(61, "en"), "in 2 minutes");
  assert.equal(inTime(undefined, "en"), "in 1 minute");
});

test("the device name says which Outlook", () => {
  assert.equal(deviceName("PC", "en"), "Outlook on Windows");
  assert.equal(deviceName("Mac", "de"), "Outlook für Mac");
  assert.equal(deviceName("OfficeOnline", "en"), "Outlook on the web");
  assert.equal(deviceName("OfficeOnline", "de"), "Outlook im Web");
  assert.equal(deviceName(undefined, "en"), "Outlook");
});

test("a key id is shown in groups of four", () => {
  const id = "0123456789abcdef".repeat(4);
  assert.equal(groupedHex(id, 16), "0123 4567 89ab cdef");
  assert.equal(groupedHex(id).split(" ").length, 16);
  assert.equal(groupedHex(id).replaceAll(" ", ""), id);
});

test("the platform's health: reachable, not ready (and why), or not reachable", () => {
  assert.equal(healthText({ ok: true }, "en"), "reachable");
  const full = new ApiError(ApiFailure.Refused, "the platform answered 503", { status: 503, body: { status: "storage full" } });
  assert.equal(healthText({ error: full }, "en"), "reachable, but not ready (storage full)");
  assert.equal(healthText({ error: new ApiError(ApiFailure.Unreachable, "x") }, "de"), "nicht erreichbar: Prüfen Sie die Verbindung");
});

test("the send status record as the pane shows it", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const at = now - 1000;
  assert.equal(sendView(null, { now, lang: "en" }), null);
  assert.equal(sendView({ phase: "reading", at }, { now, lang: "en" }).text, "Reading the message and its attachments…");
  const up = sendView({ phase: "uploading", done: 40, total: 100, at }, { now, lang: "en" });
  assert.equal(up.percent, 40);
  assert.equal(sendView({ phase: "uploading", done: 2, total: 3, at }, { now, lang: "en" }).percent, 66, "never rounded up to done");
  assert.equal(sendView({ phase: "uploading", done: 0, total: 0, at }, { now, lang: "en" }).percent, null, "no total yet");
  const failed = sendView({ phase: "failed", error: "Sealpost could not reach x.", at }, { now, lang: "en" });
  assert.equal(failed.error, "Sealpost could not reach x.");
  assert.match(failed.text, /^The last message was not sent \(.+\):$/);
  assert.match(failed.advice, /press Send again/);
  assert.match(sendView({ phase: "sent", at }, { now, lang: "de" }).text, /sicher gesendet/);
  const dead = sendView({ phase: "uploading", done: 1, total: 2, at: now - (STALLED_SECONDS + 1) * 1000 }, { now, lang: "en" });
  assert.equal(dead.phase, "stalled");
  assert.match(dead.text, /stopped without finishing/);
  assert.equal(sendView({ phase: "failed", error: "x", at: now - 86_400_000 }, { now, lang: "en" }).phase, "failed",
    "a finished send is not stalled however old");
  assert.equal(percentText(40, "en"), "40%");
  assert.equal(percentText(40, "de"), "40\u00a0%");
});
