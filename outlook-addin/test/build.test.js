// dist/ (what the platform embeds and serves) is exactly what build.mjs makes from src/ now:
// nobody ships a stale or hand-edited bundle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

test("dist/ is what build.mjs makes from src/ (run `npm run build` after a change)", () => {
  const out = mkdtempSync(join(tmpdir(), "sealpost-dist-"));
  try {
    execFileSync(process.execPath, [join(ROOT, "build.mjs"), out]);
    const dist = join(ROOT, "dist");
    assert.deepEqual(readdirSync(out).sort(), readdirSync(dist).sort());
    for (const f of readdirSync(out)) {
      assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dist, f))), `dist/${f} is stale`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// That the send runtime is one ES2016 script that runs without a DOM: classic-runtime.test.js.
