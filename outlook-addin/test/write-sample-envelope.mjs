// Writes an envelope with the add-in's writer for the Rust crate to open
// (`envelope/tests/javascript_writer.rs`): `node write-sample-envelope.mjs OUT` seals a message
// with fresh randomness for the vectors' platform key (and the recipient key, as the sender's
// stanza) into OUT, and records in OUT.json what opening it must give.
//
// `node --test test/` runs every file under test/; without OUT this script is not being asked
// for anything and exits at once.

import { readFile, open, writeFile } from "node:fs/promises";
import { buildManifest, sealEnvelope, sha256Hex } from "../src/envelope.js";
import { testKey } from "./reader.js";

const KEYS = new URL("../../envelope/tests/vectors/keys/", import.meta.url);

const out = process.argv[2];
if (out) {
  await writeSample(out);
}

async function writeSample(path) {
  const platform = await testKey(await readFile(new URL("platform.pem", KEYS), "utf8"));
  const sender = await testKey(await readFile(new URL("recipient.pem", KEYS), "utf8"));
  const attachments = [
    Uint8Array.from({ length: 150000 }, (_, i) => (i * 7 + 3) & 255), // three 64 KiB chunks
    new Uint8Array(0),
  ];
  const manifest = buildManifest({
    from: "alice@example.com",
    to: ["bob@outside.example", "zoë@beispiel.example"],
    cc: ["carol@example.com"],
    bcc: ["hidden@example.com"],
    // What JSON must escape, and what it must not, as serde_json writes it.
    subject: "Größe \"Q3\" \\ / \u0001\t\n\u007f\u2028 — 数字 😀",
    date: "2026-11-22T10:00:00Z",
    messageId: "<q3.outlook@example.com>",
    headers: [["X-Priority", "1"], ["X-Mailer", "Outlook"]],
    text: "Hi Bob,\nthe figures are attached.\n",
    html: "<p>Hi Bob,<br>the figures are <b>attached</b>. <img src=\"cid:chart@x\"></p>",
    attachments: [
      {
        name: "Zahlen Q3 — größer.csv", contentType: "text/csv", size: attachments[0].length,
        contentId: "chart@x", sha256: await sha256Hex(attachments[0]),
      },
      { name: "leer 空.txt", contentType: "text/plain", size: 0, sha256: await sha256Hex(attachments[1]) },
    ],
  });
  const messageId = crypto.randomUUID();
  const sealed = await sealEnvelope({
    messageId,
    manifest,
    attachments,
    keys: [
      { role: "platform", publicKeyPem: platform.publicKeyPem },
      { role: "sender", publicKeyPem: sender.publicKeyPem },
    ],
  });
  const file = await open(path, "w");
  try {
    for await (const piece of sealed.pieces) {
      await file.write(piece);
    }
  } finally {
    await file.close();
  }
  await writeFile(`${path}.json`, JSON.stringify({
    message_id: messageId,
    envelope_size: sealed.envelopeSize,
    key_ids: sealed.keyIds,
    manifest_b64: Buffer.from(manifest).toString("base64"),
    attachments_b64: attachments.map(a => Buffer.from(a).toString("base64")),
  }, null, 2));
}
