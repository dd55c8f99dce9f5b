// Giving up on a request where the runtime has no AbortController (classic Outlook's
// JavaScript-only runtime): the stand-in still releases whoever waits, so a time-out ends in a
// rejection (and a blocked send), never in a wait without end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { abortable, Aborted } from "../src/abort.js";

function withoutAbortController(fn) {
  const saved = globalThis.AbortController;
  delete globalThis.AbortController;
  try {
    return fn();
  } finally {
    globalThis.AbortController = saved;
  }
}

test("without AbortController a wait is released when the work is given up", async () => {
  const a = withoutAbortController(() => abortable());
  assert.equal(a.fetchSignal, undefined, "fetch gets no stand-in signal (it would refuse one)");
  const heard = [];
  a.signal.addEventListener("abort", () => heard.push("abort"));
  const waiting = a.race(new Promise(() => {})); // a request that never answers
  setTimeout(() => a.abort(), 10);
  await assert.rejects(waiting, Aborted);
  assert.equal(a.signal.aborted, true);
  assert.deepEqual(heard, ["abort"]);
  await assert.rejects(a.race(Promise.resolve(1)), Aborted, "nothing starts after it was given up");
});

test("without AbortController an answer in time is the answer; a removed listener is not called", async () => {
  const a = withoutAbortController(() => abortable());
  const called = () => assert.fail("removed, yet called");
  a.signal.addEventListener("abort", called);
  a.signal.removeEventListener("abort", called);
  assert.equal(await a.race(Promise.resolve("answer")), "answer");
  await assert.rejects(a.race(Promise.reject(new Error("refused"))), /refused/);
  a.abort();
});

test("with AbortController fetch gets the real signal, and giving up aborts it", async () => {
  const a = abortable();
  assert.ok(a.fetchSignal instanceof AbortSignal);
  const waiting = a.race(new Promise(() => {}));
  a.abort();
  await assert.rejects(waiting, Aborted);
  assert.equal(a.fetchSignal.aborted, true);
});
