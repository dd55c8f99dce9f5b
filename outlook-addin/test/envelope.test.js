// The Outlook add-in's envelope writer under `node --test`: every shared check
// (vector-checks.js, which Chromium also runs), plus what only Node can check: that a 25 MiB
// attachment seals in bounded memory, and that the module bundles into an ES2016 IIFE that
// still seals (what the add-in ships).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

import { envelopeChecks } from "./vector-checks.js";
import { collect, openEnvelope, testKey } from "./reader.js";

const ADDIN = fileURLToPath(new URL("..", import.meta.url));
const VECTORS = join(ADDIN, "..", "envelope", "tests", "vectors");
const files = { text: path => readFile(join(VECTORS, path), "utf8") };

for (const check of envelopeChecks(files)) {
  test(check.name, check.run);
}

test("a send of a 25 MiB attachment peaks below 3 times its size in memory", () => {
  const script = join(ADDIN, "test", "seal-memory.mjs");
  const report = JSON.parse(execFileSync(process.execPath, [script, "--report"], { encoding: "utf8" }));
  // Hashing holds a second copy for a moment (WebCrypto's digest copies its input); sealing
  // itself adds about one chunk.
  const used = report.peakRss - report.rssBefore;
  assert.ok(
    used < 3 * report.attachment,
    `the send took ${mib(used)} MiB for a ${mib(report.attachment)} MiB attachment (peak RSS ${mib(report.peakRss)} MiB)`,
  );
  assert.equal(report.sealedBytes, report.envelopeSize);
});

test("the module bundles into an ES2016 IIFE that seals", async () => {
  const esbuild = await import("esbuild");
  const bundle = await esbuild.build({
    entryPoints: [join(ADDIN, "src", "envelope.js")],
    bundle: true,
    format: "iife",
    globalName: "SealpostEnvelope",
    target: "es2016",
    write: false,
    logLevel: "silent",
  });
  const code = bundle.outputFiles[0].text;
  const envelope = new Function(`${code}; return SealpostEnvelope;`)();
  const platform = await testKey(await files.text("keys/platform.pem"));
  const manifest = envelope.buildManifest({ from: "a@example.com", date: "2026-11-22T10:00:00Z", text: "bundled" });
  const sealed = await envelope.sealEnvelope({
    messageId: new Uint8Array(16),
    manifest,
    keys: [{ role: "platform", publicKeyPem: platform.publicKeyPem }],
  });
  const opened = await openEnvelope(await collect(sealed.pieces), platform);
  assert.deepEqual(opened.plaintexts[0], manifest);
});

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}
