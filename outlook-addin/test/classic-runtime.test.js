// Classic Outlook on Windows runs the send handler — dist/commands.js, as the platform serves
// it — alone in a JavaScript-only runtime: no DOM, no window or document, no localStorage,
// no Office.onReady (handlers are associated as the file loads), ES2016 in builds before 2403,
// fetch only to absolute URLs (docs/outlook-addin.md, Tests). That runtime exists only inside
// classic Outlook; this checks what can be checked without it: the file parses as an ES2016
// script and names none of the built-ins newer than ES2016, and in a bare `node:vm` context
// holding only what that runtime gives — its built-in library cut back to ES2016's — it sends
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

const ROOT = resolve(import.meta.dirname, "..");
const BUNDLE = readFileSync(join(ROOT, "dist", "commands.js"), "utf8");

/** What the runtime does not have; the bundle must not count on any of it. */
const ABSENT = ["window", "self", "global", "document", "localStorage", "sessionStorage", "navigator",
  "XMLHttpRequest", "AbortController", "btoa", "atob", "require", "process", "Buffer",
  "structuredClone", "queueMicrotask"];

/**
 * The built-in library newer than ES2016, which Outlook builds before 2403 lack: global names,
 * functions on constructors, and methods (by name, on whatever object: the bundle cannot say
 * whose array or string it holds). The static check refuses each in dist/commands.js; the
 * context below removes each from its own intrinsics.
 */
const NEWER_GLOBALS = ["globalThis", "structuredClone", "AggregateError", "BigInt", "BigInt64Array",
  "BigUint64Array", "WeakRef", "FinalizationRegistry", "SharedArrayBuffer", "Atomics"];
const NEWER_STATICS = {
  Object: ["getOwnPropertyDescriptors", "entries", "values", "fromEntries", "hasOwn", "groupBy"],
  Promise: ["allSettled", "any", "withResolvers"],
  Array: ["fromAsync"],
};
const NEWER_METHODS = {
  String: ["padStart", "padEnd", "trimStart", "trimEnd", "matchAll", "replaceAll", "at"],
  Array: ["flat", "flatMap", "at", "findLast", "findLastIndex", "toSorted", "toReversed", "toSpliced"],
  TypedArray: ["at", "findLast", "findLastIndex", "toSorted", "toReversed"],
  Promise: ["finally"],
};

/** The file classic Outlook's JavaScript-only runtime loads: the manifest's JavaScript override. */
function javascriptOnlyFiles() {
  const manifest = readFileSync(join(ROOT, "manifest.xml"), "utf8");
  const resids = [...manifest.matchAll(/<Override type="javascript" resid="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(resids.length > 0, "the manifest names a JavaScript file for classic Outlook");
  return resids.map((resid) => {
    const url = new RegExp(`<bt:Url id="${resid.replace(/\./g, "\\.")}" DefaultValue="\\{\\{ORIGIN\\}\\}/outlook/([^"/]+)"`).exec(manifest);
    assert.ok(url, `${resid} is a file under /outlook/`);
    return url[1];
  });
}

/**
 * Every use in `code` of a built-in newer than ES2016, as "name at line:column": a global
 * name read as a variable, `Object.entries` and the like, a method called by name
 * (`x.padStart(…)`, `x["flat"](…)`) or taken from a prototype (`String.prototype.padEnd`).
 * Object keys, and data that shares a method's name (`entry.at`, a timestamp), are not uses.
 */
function newerBuiltInsIn(code) {
  const globals = new Set(NEWER_GLOBALS);
  const methods = new Set(Object.values(NEWER_METHODS).flat());
  const found = [];
  const at = (node, name) => found.push(`${name} at ${node.loc.start.line}:${node.loc.start.column + 1}`);
  const propertyName = (node) => (node.computed
    ? (node.property.type === "Literal" && typeof node.property.value === "string" ? node.property.value : null)
    : node.property.name);
  const visit = (node, called = false) => {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "Identifier" && globals.has(node.name)) at(node, node.name);
    if (node.type === "CallExpression") {
      visit(node.callee, true);
      node.arguments.forEach((argument) => visit(argument));
      return;
    }
    if (node.type === "MemberExpression") {
      const name = propertyName(node);
      const owner = node.object.type === "Identifier" ? node.object.name : null;
      const onPrototype = node.object.type === "MemberExpression" && propertyName(node.object) === "prototype";
      if (name !== null && methods.has(name) && (called || onPrototype)) at(node.property, `.${name}`);
      if (name !== null && owner && (NEWER_STATICS[owner] || []).includes(name)) at(node.property, `${owner}.${name}`);
      visit(node.object);
      if (node.computed) visit(node.property);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if ((node.type === "Property" || node.type === "MethodDefinition") && key === "key" && !node.computed) continue;
      if (node.type === "LabeledStatement" && key === "label") continue;
      if ((node.type === "BreakStatement" || node.type === "ContinueStatement") && key === "label") continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child.type === "string") visit(child);
      }
    }
  };
  visit(parse(code, { ecmaVersion: 2016, sourceType: "script", locations: true }));
  return found;
}

test("the send runtime parses as one ES2016 script: no modules, no imports, nothing newer", () => {
  // Throws on an import or export, a dynamic import(), async/await, object spread, ?., ??,
  // or a regular expression flag newer than ES2016.
  parse(BUNDLE, { ecmaVersion: 2016, sourceType: "script" });
});

test("the send runtime names no built-in newer than ES2016, on paths the runs below take or not", () => {
  const files = javascriptOnlyFiles();
  assert.deepEqual(files, ["commands.js"], "the JavaScript-only runtime loads dist/commands.js alone");
  for (const file of files) {
    assert.deepEqual(newerBuiltInsIn(readFileSync(join(ROOT, "dist", file), "utf8")), [],
      `dist/${file} uses built-ins classic Outlook's runtime before build 2403 lacks`);
  }
  // The check itself finds each kind of use, and not look-alikes.
  assert.deepEqual(newerBuiltInsIn(`globalThis.Office; Promise.allSettled([]); a.b.padStart(2); x["flat"]();
    Object.entries(o); new Uint8Array(2).at(0); p.finally(f); ({ at: 1, entries: 2 }); m.entries(); o.values;
    entry.at - 1; String.prototype.padEnd.call(s, 2);`), [
    "globalThis at 1:1", "Promise.allSettled at 1:28", ".padStart at 1:48", ".flat at 1:63",
    "Object.entries at 2:12", ".at at 2:42", ".finally at 2:51", ".padEnd at 3:36"]);
});

let platform;
let token;
before(async () => {
  platform = await TestPlatform.start();
  token = await platform.signIn();
});
after(() => platform.remove());

/**
 * Cuts the context's own built-in library back to ES2016: deletes from its intrinsics (not
 * this process's) every name in NEWER_GLOBALS, NEWER_STATICS and NEWER_METHODS, and checks
 * from inside the context that each is gone.
 */
function withoutNewerBuiltIns(context) {
  const removals = [
    ...NEWER_GLOBALS.map((name) => [null, name]),
    ...Object.entries(NEWER_STATICS).flatMap(([owner, names]) => names.map((name) => [owner, name])),
    ...Object.entries(NEWER_METHODS).flatMap(([owner, names]) => names.map((name) => [
      owner === "TypedArray" ? "Object.getPrototypeOf(Uint8Array.prototype)" : `${owner}.prototype`, name])),
  ];
  const script = removals.map(([owner, name]) => (owner
    ? `delete ${owner}.${name}; if (${JSON.stringify(name)} in ${owner}) gone.push(${JSON.stringify(`${owner}.${name}`)});`
    : `delete this.${name}; if (typeof ${name} !== "undefined" || ${JSON.stringify(name)} in this) gone.push(${JSON.stringify(name)});`));
  const kept = runInContext(`(function () { var gone = []; ${script.join("\n")} return gone.join(", "); }).call(this)`, context);
  assert.equal(kept, "", "the context's built-ins newer than ES2016 are gone from its own point of view");
}

/**
 * Loads dist/commands.js in a fresh context holding only what classic Outlook's runtime gives:
 * `Office` without `onReady`, `OfficeRuntime.storage`, `fetch` (absolute URLs only), WebCrypto,
 * TextEncoder/TextDecoder, timers, console, and ES2016's built-ins (withoutNewerBuiltIns), with
 * no code made from strings (no eval, no `Function("…")`: a host may turn it off). Returns the
 * fake Office's handle (office-host.js).
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
  }, { codeGeneration: { strings: false, wasm: false } });
  withoutNewerBuiltIns(context);
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
  assert.throws(() => runInContext(`Function("return this")()`, context), { name: "EvalError" }, "no code from strings");
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
