// The API client as a browser runs it: fetch is called the way a browser's fetch must be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Platform } from "../src/api.js";

test("fetch is not called as a method of the client (a browser's fetch refuses that)", async () => {
  // Chromium's window.fetch throws "Illegal invocation" unless `this` is the window or unset.
  function browserLikeFetch(url) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    assert.equal(url, "https://sealpost.example/api/v1/keys/platform");
    return Promise.resolve(new Response(JSON.stringify({ key_id: "ab" }), { status: 200 }));
  }
  assert.deepEqual(await new Platform("https://sealpost.example/", null, browserLikeFetch).platformKey(), { key_id: "ab" });
});
