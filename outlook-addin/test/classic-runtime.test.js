// Classic Outlook on Windows runs the send handler — dist/commands.js, as the platform serves
// it — alone in a JavaScript-only runtime: no DOM, no window or document, no localStorage,
// no Office.onReady (handlers are associated as the file loads), ES2016 in builds before 2403,
// fetch only to absolute URLs (docs/outlook-addin.md, Tests). That runtime exists only inside
// classic Outlook; this checks what can be checked without it: the file parses as an ES2016
// script, and in a bare `node:vm` context holding only what that runtime gives it sends
// securely against the real platform, and blocks when it cannot.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createContext, runInContext } from "node:vm";
import { randomBytes } from "node:crypto";
import { parse } from "acorn";

import { TASKPANE_COMMAND } from "../src/send.js";
import { Session } from "../src/session.js";
import { MESSAGE_ID_HEADER } from "../src/item.js";
import { officeHost, sendEvent, memoryStore } from "./office-host.js";
import { TestPlatform, ALICE } from "./platform.js";

const BUNDLE = readFileSync(join(resolve(import.meta.dirname, ".."), "dist", "commands.js"), "utf8");

/** What the runtime does not have; the bundle must not count on any of it. */
const ABSENT = ["window", "self", "document", "localStorage", "sessionStorage", "navigator",
  "XMLHttpRequest", "AbortController", "btoa", "atob", "require", "process", "Buffer"];

test("the send runtime parses as one ES2016 script: no modules, no imports, nothing newer", () => {
  // Throws on an import or export, a dynamic import(), async/await, object spread, ?., ??,
  // or a regular expression flag newer than ES2016.
  parse(BUNDLE, { ecmaVersion: 2016, sourceType: "script" });
});

let platform;
let token;
before(async () => {
  platform = await TestPlatform.start();
  token = await platform.signIn();
});
after(() => platform.remove());

/**
 * Loads dist/commands.js in a fresh context holding only what classic Outlook's runtime gives:
 * `Office` without `onReady`, `OfficeRuntime.storage`, `fetch` (absolute URLs only), WebCrypto,
 * TextEncoder/TextDecoder, timers, console. Returns the fake Office's handle (office-host.js).
 */
function classicRuntime(spec, { store, fetch = platform.fetch }) {
  const host = officeHost(spec);
  const { onReady, ...Office } = host.Office; // Office.onReady does not run in this runtime
  const context = createContext({
    Office,
    OfficeRuntime: { storage: store },
    fetch: (url, options) => (/^https?:\/\//.test(String(url))
      ? fetch(url, options)
      : Promise.reject(new TypeError(`this runtime fetches absolute URLs only, not "${url}"`))),
    crypto: globalThis.crypto,
    setTimeout,
    clearTimeout,
    console,
  });
  // The runtime's encoder hands out its own realm's bytes (the add-in checks `instanceof
  // Uint8Array`), as the runtime's own would.
  const Bytes = runInContext("Uint8Array", context);
  const encoder = new TextEncoder();
  context.TextEncoder = class {
    get encoding() { return "utf-8"; }
    encode(s = "") { const b = encoder.encode(s); return new Bytes(b.buffer, b.byteOffset, b.length); }
    encodeInto(s, into) { return encoder.encodeInto(s, into); }
  };
  context.TextDecoder = class {
    constructor(label, options) { this.decoder = new TextDecoder(label, options); }
    get encoding() { return this.decoder.encoding; }
    decode(bytes, options) { return this.decoder.decode(bytes, options); }
  };
  for (const name of ABSENT) {
    assert.equal(runInContext(`typeof ${name}`, context), "undefined", `the context must not offer ${name}`);
  }
  runInContext(BUNDLE, context, { filename: "commands.js" });
  assert.deepEqual(Object.keys(host.handlers).sort(), ["onMessageSend", "toggleSecure"],
    "the handlers are associated as the file loads, without Office.onReady");
  return host;
}

/** Fires Send as Outlook does and returns how the handler completed it (once, and only once). */
async function send(host) {
  const event = sendEvent();
  host.handlers.onMessageSend(event);
  const outcome = await event.done;
  await new Promise((ok) => setTimeout(ok, 50));
  assert.equal(event.completions.length, 1, "completed exactly once");
  return JSON.parse(JSON.stringify(outcome)); // a plain object of this realm, to compare
}

async function signedIn(origin = platform.origin) {
  const store = memoryStore();
  await new Session(store).save({ origin, token, email: ALICE, device: "classic Outlook" });
  return store;
}

function message() {
  return {
    to: ["bob@outside.example"],
    bcc: ["dave@hidden.example"],
    subject: "Q3 from classic Outlook",
    bodyType: "html",
    body: "<p>Hi Bob, the <b>figures</b>.</p>",
    attachments: [{ name: "figures.bin", bytes: randomBytes(300_000), contentType: "application/octet-stream" }],
  };
}

test("in the JavaScript-only runtime a message is sealed, uploaded and leaves as the stub", async () => {
  const spec = message();
  const store = await signedIn();
  const host = classicRuntime(spec, { store });
  const { state } = host;
  assert.deepEqual(await send(host), { allowEvent: true });

  const id = state.headers[MESSAGE_ID_HEADER];
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.match(state.body, new RegExp(`${platform.origin}/m/`), "the body is the stub with the link");
  assert.ok(!state.body.includes("figures</b>"), "nothing of the message stays in the body");
  assert.deepEqual(state.attachments, [], "the file left with the platform, not with the stub");
  assert.equal(JSON.parse(await store.getItem("sealpost.status")).transport, "direct");

  const kept = platform.exportMessage(id);
  assert.equal(kept.html, spec.body);
  assert.equal(kept.manifest.metadata.subject, spec.subject);
  assert.ok(kept.attachments.get("figures.bin").equals(spec.attachments[0].bytes), "the file byte for byte");
  assert.ok(!JSON.stringify(kept.manifest).includes("hidden.example"), "no Bcc in what the platform keeps");
});

test("in the JavaScript-only runtime an unreachable platform blocks the send, the item as written", async () => {
  const spec = message();
  const host = classicRuntime(spec, { store: await signedIn("https://127.0.0.1:9") });
  const outcome = await send(host);
  assert.equal(outcome.allowEvent, false);
  assert.match(outcome.errorMessage, /could not reach https:\/\/127\.0\.0\.1:9/);
  assert.equal(outcome.commandId, TASKPANE_COMMAND);
  const { state } = host;
  assert.equal(state.body, spec.body);
  assert.equal(state.subject, spec.subject);
  assert.deepEqual(state.attachments.map((a) => a.name), ["figures.bin"]);
  assert.ok(!(MESSAGE_ID_HEADER in state.headers));
});

test("in the JavaScript-only runtime without storage the send is blocked, not let go", async () => {
  const host = classicRuntime(message(), { store: undefined });
  const outcome = await send(host);
  assert.equal(outcome.allowEvent, false);
  assert.match(outcome.errorMessage, /no storage/);
  assert.equal(host.state.body, message().body);
});
