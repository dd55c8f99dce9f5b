// Run by envelope.test.js as `node seal-memory.mjs --report`, in a process of its own so that
// its peak memory is this send's alone: seals a 25 MiB attachment the way the add-in's send
// handler does (hash, manifest, seal, stream the pieces out) and prints, as JSON, the resident
// set size before the attachment existed and at its peak.
//
// `node --test test/` runs every file under test/; without `--report` this script is not
// being asked for anything and exits at once.

import { readFileSync } from "node:fs";
import { buildManifest, sealEnvelope, sha256Hex } from "../src/envelope.js";
import { testKey } from "./reader.js";

const ATTACHMENT = 25 * 1024 * 1024;

if (process.argv.includes("--report")) {
  console.log(JSON.stringify(await sealOneBigAttachment()));
}

async function sealOneBigAttachment() {
  const pem = readFileSync(new URL("../../envelope/tests/vectors/keys/platform.pem", import.meta.url), "utf8");
  const platform = await testKey(pem);
  const rssBefore = process.memoryUsage().rss;

  const attachment = new Uint8Array(ATTACHMENT);
  for (let i = 0; i < attachment.length; i += 4096) {
    attachment[i] = i & 255; // touch every page, so the attachment is resident
  }
  const manifest = buildManifest({
    from: "alice@example.com",
    to: ["bob@example.com"],
    date: "2026-11-22T10:00:00Z",
    text: "25 MiB",
    attachments: [{
      name: "big.bin", contentType: "application/octet-stream", size: attachment.length,
      sha256: await sha256Hex(attachment),
    }],
  });
  const sealed = await sealEnvelope({
    messageId: "00112233-4455-4677-8899-aabbccddeeff",
    manifest,
    attachments: [attachment],
    keys: [{ role: "platform", publicKeyPem: platform.publicKeyPem }],
  });
  let sealedBytes = 0;
  for await (const piece of sealed.pieces) {
    sealedBytes += piece.length; // an upload would send the piece here
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return { attachment: ATTACHMENT, rssBefore, peakRss, sealedBytes, envelopeSize: sealed.envelopeSize };
}
