// A draft's unlock code, from the task pane to the send handler: kept per draft, forgotten once
// sent, refused when the platform would refuse it, and off the disk after its time, with a
// marker that keeps blocking its send — in OfficeRuntime.storage's async shape and in
// localStorage's sync one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MARKER_TTL_MS, Session, UNLOCK_CODE_TTL_MS, UnlockCodeUnusable } from "../src/session.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN } from "../src/unlockcode.js";

/** localStorage's shape over a Map (`length`, `key(i)`); `async` gives OfficeRuntime.storage's
 * promises (`getKeys()`). */
function memoryStore({ async = false } = {}) {
  const map = new Map();
  const wrap = (f) => (async ? (...a) => Promise.resolve(f(...a)) : f);
  const store = {
    map,
    getItem: wrap((k) => (map.has(k) ? map.get(k) : null)),
    setItem: wrap((k, v) => void map.set(k, String(v))),
    removeItem: wrap((k) => void map.delete(k)),
  };
  if (async) store.getKeys = async () => [...map.keys()];
  else {
    store.key = (i) => [...map.keys()][i] ?? null;
    Object.defineProperty(store, "length", { get: () => map.size });
  }
  return store;
}

/** Sends the draft's code (read, then forgotten), as the send handler does. */
async function sendWith(session, draft) {
  const code = await session.unlockCode(draft);
  if (code) await session.forgetUnlockCode(draft);
  return code;
}

for (const async of [false, true]) {
  const storage = async ? "OfficeRuntime.storage" : "localStorage";

  test(`${storage}: a draft's unlock code is sent once, and only that draft's`, async () => {
    const store = memoryStore({ async });
    const session = new Session(store);
    await session.setUnlockCode("draft-A", "  K7QM-4TZP-2XWA ");
    await session.setUnlockCode("draft-B", "second code");
    assert.equal(await session.unlockCode("draft-A"), "K7QM-4TZP-2XWA", "trimmed, and still there");
    assert.equal(await sendWith(session, "draft-A"), "K7QM-4TZP-2XWA");
    assert.equal(await sendWith(session, "draft-A"), null, "a second send finds none");
    assert.equal(await sendWith(session, "draft-B"), "second code");
    assert.equal(store.map.size, 0, "nothing of either draft is left behind");
  });

  test(`${storage}: a code past its day leaves the disk, and its draft's send stays blocked`, async () => {
    const store = memoryStore({ async });
    const session = new Session(store);
    const start = Date.now();
    await session.setUnlockCode("draft-old", "K7QM-4TZP-2XWA");
    await session.setUnlockCode("draft-new", "second code");
    await session.save({ origin: "https://sealpost.example", token: "spdt_x", email: "a@b.example" });
    const later = start + UNLOCK_CODE_TTL_MS + 1000;
    // Before any sweep, an expired code already refuses to be used.
    await assert.rejects(session.unlockCode("draft-old", later), (e) => e instanceof UnlockCodeUnusable && e.reason === "expired");
    // Set a day later than the other: still in time at `later`.
    await session.setUnlockCode("draft-new", "second code", later - 1000);
    assert.equal(await session.forgetStaleUnlockCodes(later), 1);
    const raw = [...store.map.values()].join("\n");
    assert.ok(!raw.includes("K7QM-4TZP-2XWA"), "the expired code is no longer stored");
    assert.ok(raw.includes("second code"), "a code in time stays");
    assert.ok(raw.includes("spdt_x"), "the sign-in is left alone");
    await assert.rejects(session.unlockCode("draft-old", later), (e) => e.reason === "expired",
      "the marker keeps the send from going without the code");
    // Setting the code again, or removing it, is what lets the draft go.
    await session.setUnlockCode("draft-old", "K7QM-4TZP-2XWA");
    assert.equal(await session.unlockCode("draft-old"), "K7QM-4TZP-2XWA");
    await session.forgetUnlockCode("draft-old");
    assert.equal(await session.unlockCode("draft-old"), null);
    // A marker nobody acted on goes after its own time; a code set is never silently dropped.
    await session.setUnlockCode("draft-gone", "third code", start);
    await session.forgetStaleUnlockCodes(later);
    await session.forgetStaleUnlockCodes(later + UNLOCK_CODE_TTL_MS);
    assert.ok([...store.map.keys()].some((k) => k.endsWith("draft-gone")), "a marker is kept");
    await session.forgetStaleUnlockCodes(later + UNLOCK_CODE_TTL_MS + MARKER_TTL_MS + 1000);
    assert.ok(![...store.map.keys()].some((k) => k.endsWith("draft-gone")));
  });

  test(`${storage}: an unreadable code blocks its send rather than being ignored`, async () => {
    const store = memoryStore({ async });
    const session = new Session(store);
    for (const raw of ["{not json", JSON.stringify({ code: "12345", at: Date.now() }), JSON.stringify({ code: "K7QM-4TZP-2XWA" })]) {
      await store.setItem("sealpost.unlock.draft-A", raw);
      await assert.rejects(session.unlockCode("draft-A"), (e) => e instanceof UnlockCodeUnusable && e.reason === "damaged", raw);
    }
  });

  test(`${storage}: a code the platform would refuse is not kept`, async () => {
    const store = memoryStore({ async });
    const session = new Session(store);
    for (const bad of ["12345", "   12345   ", "x".repeat(UNLOCK_CODE_MAX + 1), "", null]) {
      await assert.rejects(session.setUnlockCode("draft-A", bad), RangeError, JSON.stringify(bad));
    }
    assert.equal(store.map.size, 0);
    await session.setUnlockCode("draft-A", "x".repeat(UNLOCK_CODE_MIN));
    await session.setUnlockCode("draft-B", "🔑".repeat(UNLOCK_CODE_MAX)); // characters, not bytes
    await session.setUnlockCode("draft-A", "replaced");
    assert.equal(await sendWith(session, "draft-A"), "replaced");
  });
}

test("an unlock code needs the draft's item id, and leaves the session and status alone", async () => {
  const store = memoryStore();
  const session = new Session(store);
  await session.save({ origin: "https://sealpost.example", token: "spdt_x", email: "a@b.example" });
  await session.setStatus({ phase: "sent" });
  await assert.rejects(session.setUnlockCode("", "K7QM-4TZP-2XWA"), TypeError);
  await assert.rejects(session.unlockCode(undefined), TypeError);
  await session.setUnlockCode("draft-A", "K7QM-4TZP-2XWA");
  await sendWith(session, "draft-A");
  assert.equal((await session.load()).token, "spdt_x");
  assert.equal((await session.status()).phase, "sent");
});
