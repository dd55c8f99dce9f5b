// base64 both ways, on every path the runtimes take (native helpers, or by hand as in classic
// Outlook's JavaScript-only runtime), against Node's Buffer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { decodeBase64, encodeBase64 } from "../src/base64.js";

const samples = [0, 1, 2, 3, 4, 5, 57, 1000, (4 << 20) + 7, 9 << 20].map((n) => randomBytes(n));

for (const native of [true, false]) {
  test(`base64 round trips ${native ? "with TextEncoder and btoa" : "by hand (neither, as in classic Outlook's runtime)"}`, () => {
    const { btoa, TextEncoder } = globalThis;
    if (!native) { delete globalThis.btoa; delete globalThis.TextEncoder; }
    try {
      for (const bytes of samples) {
        const b64 = encodeBase64(bytes);
        assert.equal(b64, Buffer.from(bytes).toString("base64"), `encode ${bytes.length}`);
        assert.ok(Buffer.from(decodeBase64(b64)).equals(bytes), `decode ${bytes.length}`);
        const wrapped = b64.replace(/.{76}/g, "$&\r\n");
        assert.ok(Buffer.from(decodeBase64(wrapped)).equals(bytes), `decode with line breaks ${bytes.length}`);
      }
    } finally {
      Object.assign(globalThis, { btoa, TextEncoder });
    }
  });
}

test("base64 without its padding decodes", () => {
  for (const n of [1, 2, 3, 4, 5]) {
    const bytes = randomBytes(n);
    const bare = Buffer.from(bytes).toString("base64").replace(/=+$/, "");
    assert.ok(Buffer.from(decodeBase64(bare)).equals(bytes), `${n} bytes`);
  }
});

for (const native of [true, false]) {
  test(`broken base64 is refused ${native ? "with TextEncoder" : "by hand"}`, () => {
    const { TextEncoder } = globalThis;
    if (!native) delete globalThis.TextEncoder;
    try {
      const good = Buffer.from(randomBytes(3000)).toString("base64");
      const broken = [
        "abc$", "a", "ab=c", "abc===", "QUJD\u00e9RUZH", "QUJDRE\u0100ZH", "QU\u20acJ",
        `${good.slice(0, 1500)}?${good.slice(1501)}`, `${good}é`, `${good.slice(0, 8)}=${good.slice(9)}`,
      ];
      for (const text of broken) assert.throws(() => decodeBase64(text), /broken/, JSON.stringify(text.slice(0, 20)));
    } finally {
      Object.assign(globalThis, { TextEncoder });
    }
  });
}
