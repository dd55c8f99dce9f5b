// A draft's unlock code, from the task pane to the send handler: kept per draft, taken once,
// refused when the platform would refuse it — in OfficeRuntime.storage's async shape and in
// localStorage's sync one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Session } from "../src/session.js";
import { UNLOCK_CODE_MAX, UNLOCK_CODE_MIN } from "../src/unlockcode.js";

/** localStorage's shape over a Map; `async` gives OfficeRuntime.storage's promises. */
function memoryStore({ async = false } = {}) {
  const map = new Map();
  const wrap = (f) => (async ? (...a) => Promise.resolve(f(...a)) : f);
  return {
    map,
    getItem: wrap((k) => (map.has(k) ? map.get(k) : null)),
    setItem: wrap((k, v) => void map.set(k, String(v))),
    removeItem: wrap((k) => void map.delete(k)),
  };
}

for (const async of [false, true]) {
  const storage = async ? "OfficeRuntime.storage" : "localStorage";

  test(`${storage}: a draft's unlock code is taken once, and only that draft's`, async () => {
    const store = memoryStore({ async });
    const session = new Session(store);
    await session.setUnlockCode("draft-A", "  K7QM-4TZP-2XWA ");
    await session.setUnlockCode("draft-B", "second code");
    assert.equal(await session.unlockCode("draft-A"), "K7QM-4TZP-2XWA", "trimmed, and still there");
    assert.equal(await session.takeUnlockCode("draft-A"), "K7QM-4TZP-2XWA");
    assert.equal(await session.takeUnlockCode("draft-A"), null, "a second send finds none");
    assert.equal(await session.takeUnlockCode("draft-B"), "second code");
    assert.equal(store.map.size, 0, "nothing of either draft is left behind");
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
    assert.equal(await session.takeUnlockCode("draft-A"), "replaced");
  });
}

test("an unlock code needs the draft's item id, and leaves the session and status alone", async () => {
  const store = memoryStore();
  const session = new Session(store);
  await session.save({ origin: "https://sealpost.example", token: "spdt_x", email: "a@b.example" });
  await session.setStatus({ phase: "sent" });
  await assert.rejects(session.setUnlockCode("", "K7QM-4TZP-2XWA"), TypeError);
  await assert.rejects(session.takeUnlockCode(undefined), TypeError);
  await session.setUnlockCode("draft-A", "K7QM-4TZP-2XWA");
  await session.takeUnlockCode("draft-A");
  assert.equal((await session.load()).token, "spdt_x");
  assert.equal((await session.status()).phase, "sent");
});

test("a damaged record reads as no code", async () => {
  const store = memoryStore();
  store.setItem("sealpost.unlock.draft-A", "{not json");
  store.setItem("sealpost.unlock.draft-B", JSON.stringify({ code: "123" }));
  const session = new Session(store);
  assert.equal(await session.takeUnlockCode("draft-A"), null);
  assert.equal(await session.takeUnlockCode("draft-B"), null);
  assert.equal(store.map.size, 0);
});
