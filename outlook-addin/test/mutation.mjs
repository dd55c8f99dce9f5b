// The mutation check: a copy of the add-in whose send handler skips sealing — it turns the
// item into a stub without uploading anything — must fail send.test.js. If the suite passed
// against it, the suite would not be checking that the message reached the platform.
// Run: node test/mutation.mjs (scripts/test does, after the suite itself).
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const copy = mkdtempSync(join(tmpdir(), "sealpost-mutant-"));
try {
  for (const d of ["src", "test"]) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(copy, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  const handler = join(copy, "src", "send.js");
  const code = readFileSync(handler, "utf8");
  const sealing = "const sent = await transport.send(";
  if (!code.includes(sealing)) throw new Error(`mutation point "${sealing}" is gone from src/send.js: update this check`);
  // The mutant: a made-up message id and stub, nothing sealed, nothing uploaded.
  writeFileSync(handler, code.replace(sealing,
    'const sent = { id: "00000000-0000-4000-8000-000000000000", stub: { subject: "Secure message", text: "/m/x", html: "<p>/m/x</p>" }, notifiedByPlatform: false } || await transport.send('));
  const run = spawnSync(process.execPath, ["--test", join(copy, "test", "send.test.js")], {
    env: { ...process.env, SEALPOST_PLATFORM_BIN: process.env.SEALPOST_PLATFORM_BIN || join(ROOT, "..", "target", "debug", "sealpost-platform") },
    encoding: "utf8",
  });
  const failed = /# fail [1-9]/.test(run.stdout);
  console.log(failed
    ? "mutation check: a handler that skips sealing fails the suite (as it must)"
    : "mutation check: FAILED — send.test.js passed against a handler that seals nothing");
  process.exit(failed ? 0 : 1);
} finally {
  rmSync(copy, { recursive: true, force: true });
}
