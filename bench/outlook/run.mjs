// The Outlook add-in's secure send, timed beside its baseline in the same run: the send
// handler (office-addin-mock's compose item, the direct transport: WebCrypto sealing in Node,
// the platform's API over HTTPS) for a message with a 25 MiB attachment, against `curl -T` of
// the same number of sealed bytes to the same upload endpoint. Prints the wall-time ratio
// (target ≤ 1.3), and the handler process's peak RSS: in all, and what the send added to a
// process already holding the message as Outlook does (the attachment and its base64 string),
// against the attachment's size (target ≤ 3×).
//
//   node bench/outlook/run.mjs [--mib 25] [--rounds 3] [--quick]
// The platform binary: SEALPOST_PLATFORM_BIN, else target/release/sealpost-platform.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname, "..", "..");
process.env.SEALPOST_PLATFORM_BIN ||= join(ROOT, "target", "release", "sealpost-platform");
const { TestPlatform } = await import("../../outlook-addin/test/platform.js");
const { sealEnvelope, buildManifest } = await import("../../outlook-addin/src/envelope.js");

const { values } = parseArgs({ options: { mib: { type: "string", default: "25" }, rounds: { type: "string", default: "3" }, quick: { type: "boolean", default: false } } });
const mib = values.quick ? 1 : Number(values.mib);
const rounds = values.quick ? 1 : Number(values.rounds);
const dir = mkdtempSync(join(tmpdir(), "sealpost-bench-outlook-"));
const platform = await TestPlatform.start();
try {
  const token = await platform.signIn();
  const ca = join(platform.dir, "tls", "cert.pem");
  const file = join(dir, "attachment.bin");
  writeFileSync(file, randomBytes(mib << 20));

  // The baseline's bytes: an envelope of the same shape, sealed beforehand.
  const key = JSON.parse(await (await platform.fetch(`${platform.origin}/api/v1/keys/platform`)).text());
  const sealedFile = join(dir, "sealed.sealpost");
  async function sealedUploadMs() {
    const id = randomUUID();
    const attachment = randomBytes(mib << 20);
    const manifest = buildManifest({ from: "alice@acme.example", to: ["reader@outside.example"], subject: "Benchmark", date: "2026-12-07T00:00:00Z", html: "<p>figures attached</p>", attachments: [{ name: "figures.bin", contentType: "application/octet-stream", size: attachment.length, sha256: "0".repeat(64) }] });
    const sealed = await sealEnvelope({ messageId: id, manifest, attachments: [attachment], keys: [{ role: "platform", publicKeyPem: key.public_key_pem }] });
    const parts = [];
    for await (const p of sealed.pieces) parts.push(p);
    writeFileSync(sealedFile, Buffer.concat(parts));
    const create = await platform.fetch(`${platform.origin}/api/v1/messages`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ id, to: ["reader@outside.example"], subject: "Benchmark", envelope_size: sealed.envelopeSize }) });
    if (!create.ok) throw new Error(`create: ${create.status}`);
    execFileSync("sync");
    const start = process.hrtime.bigint();
    execFileSync("curl", ["-sS", "-f", "--cacert", ca, "-X", "PATCH", "-T", sealedFile, "-H", `Authorization: Bearer ${token}`, "-H", "Upload-Offset: 0", `${platform.origin}/api/v1/messages/${id}/envelope`]);
    return Number(process.hrtime.bigint() - start) / 1e6;
  }
  function handlerSend() {
    execFileSync("sync");
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "send-once.mjs"), "--origin", platform.origin, "--token", token, "--ca", ca, "--file", file], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`send: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  console.log(`| round | add-in send (${mib} MiB, direct) | baseline: curl -T of the sealed envelope | ratio (target ≤ 1.3) | peak RSS | before the send | added by the send / attachment (target ≤ 3) |`);
  console.log("|---|---|---|---|---|---|---|");
  for (let round = 1; round <= rounds; round++) {
    const sent = handlerSend();
    const curl = await sealedUploadMs();
    const [peak, before] = [sent.max_rss_kib / 1024, sent.before_kib / 1024];
    console.log(`| ${round} | ${(sent.ms / 1000).toFixed(2)} s | ${(curl / 1000).toFixed(2)} s | ${(sent.ms / curl).toFixed(2)} | ${peak.toFixed(1)} MiB | ${before.toFixed(1)} MiB | ${((peak - before) / mib).toFixed(2)} |`);
  }
} finally {
  await platform.remove();
  rmSync(dir, { recursive: true, force: true });
}
