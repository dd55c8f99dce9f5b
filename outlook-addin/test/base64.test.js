// base64 both ways, on every path the runtimes take (atob, by hand), against Node's Buffer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { decodeBase64, encodeBase64 } from "../src/base64.js";

const samples = [0, 1, 2, 3, 4, 5, 57, 1000, (4 << 20) + 7, 9 << 20].map((n) => randomBytes(n));

for (const withAtob of [true, false]) {
  test(`base64 round trips ${withAtob ? "with atob/btoa" : "by hand (no atob, as in classic Outlook's runtime)"}`, () => {
    const { atob, btoa } = globalThis;
    if (!withAtob) { delete globalThis.atob; delete globalThis.btoa; }
    try {
      for (const bytes of samples) {
        const b64 = encodeBase64(bytes);
        assert.equal(b64, Buffer.from(bytes).toString("base64"), `encode ${bytes.length}`);
        assert.ok(Buffer.from(decodeBase64(b64)).equals(bytes), `decode ${bytes.length}`);
        const wrapped = b64.replace(/.{76}/g, "$&\r\n");
        assert.ok(Buffer.from(decodeBase64(wrapped)).equals(bytes), `decode with line breaks ${bytes.length}`);
      }
    } finally {
      Object.assign(globalThis, { atob, btoa });
    }
  });
}

test("broken base64 is refused", () => {
  assert.throws(() => decodeBase64("abc$"), /broken/);
  assert.throws(() => decodeBase64("a"), /broken/);
});
