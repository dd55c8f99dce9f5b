// src/global.js finds the global object without globalThis (ES2020); under Node it must be
// globalThis itself. Without globalThis, self or global: test/classic-runtime.test.js.
import { test } from "node:test";
import assert from "node:assert/strict";

import { globalObject } from "../src/global.js";

test("the global object found without globalThis is globalThis where that exists", () => {
  assert.equal(globalObject, globalThis);
});
