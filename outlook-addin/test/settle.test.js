// src/settle.js stands in for Promise.allSettled (ES2020), which the send runtime may lack.
import { test } from "node:test";
import assert from "node:assert/strict";

import { allSettled } from "../src/settle.js";

test("allSettled waits for all, never rejects, and reports each outcome in order, as Promise.allSettled", async () => {
  const failure = new Error("no");
  let late = false;
  const slow = new Promise((ok) => setTimeout(() => { late = true; ok("slow"); }, 20));
  const inputs = () => [slow, Promise.reject(failure), 7, Promise.resolve("now")];
  const outcomes = await allSettled(inputs());
  assert.ok(late, "waited for the slowest");
  assert.deepEqual(outcomes, [
    { status: "fulfilled", value: "slow" },
    { status: "rejected", reason: failure },
    { status: "fulfilled", value: 7 },
    { status: "fulfilled", value: "now" },
  ]);
  assert.deepEqual(outcomes, await Promise.allSettled(inputs()));
  assert.deepEqual(await allSettled([]), []);
});
