// One secure send through the Outlook add-in's send handler (direct transport) of a message
// with an attachment of `--mib` MiB, against the platform at `--origin` with `--token`;
// prints {"ms", "max_rss_kib", "before_kib"} for this process alone — `before_kib` its RSS
// once it holds the message as Outlook would (the attachment and its base64), before the send
// event. Run by bench/outlook/run.mjs.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { onMessageSend } from "../../outlook-addin/src/send.js";
import { Session } from "../../outlook-addin/src/session.js";
import { transportFor } from "../../outlook-addin/src/transport/index.js";
import { composeItem, memoryStore, sendEvent } from "../../outlook-addin/test/outlook.js";
import { httpsFetch } from "../../outlook-addin/test/platform.js";

const { values } = parseArgs({ options: { origin: { type: "string" }, token: { type: "string" }, ca: { type: "string" }, file: { type: "string" } } });
const bytes = readFileSync(values.file);
const { item, state } = composeItem({
  to: ["reader@outside.example"], subject: "Benchmark", bodyType: "html", body: "<p>figures attached</p>",
  attachments: [{ name: "figures.bin", bytes, contentType: "application/octet-stream" }],
});
// Outlook has the attachment's base64 before the send event; so has this fake, outside the timing.
state.attachments[0].base64 = bytes.toString("base64");
const session = new Session(memoryStore());
await session.save({ origin: values.origin, token: values.token, email: "alice@acme.example" });
const fetchImpl = httpsFetch(readFileSync(values.ca));
const event = sendEvent();
const before = process.memoryUsage().rss / 1024;
const start = process.hrtime.bigint();
await onMessageSend(event, { item, session, transport: () => transportFor(session, fetchImpl), lang: "en" });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
if (!event.completions[0].allowEvent || !state.headers["X-Sealpost-Message-Id"]) {
  console.error(JSON.stringify(event.completions[0]));
  process.exit(1);
}
console.log(JSON.stringify({ ms, max_rss_kib: process.resourceUsage().maxRSS, before_kib: before }));
