// The manifest IT deploys: its structure (fail-closed send, every resource resolves, HTTPS,
// size), and Microsoft's own validator on the JSON the converter makes of it (offline; the XML
// validator calls a Microsoft service).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DOMParser } from "@xmldom/xmldom";

const ROOT = resolve(import.meta.dirname, "..");
const ORIGIN = "https://sealpost.example.com";
const template = readFileSync(join(ROOT, "manifest.xml"), "utf8");
const xml = template.replaceAll("{{ORIGIN}}", ORIGIN);
const doc = new DOMParser().parseFromString(xml, "text/xml");
const all = (name) => Array.from(doc.getElementsByTagNameNS("*", name));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);

test("the manifest is small enough for Outlook (under 256 KB)", () => {
  assert.ok(Buffer.byteLength(xml) < 256 * 1024);
});

test("one send event, and it blocks when the add-in cannot run", () => {
  const events = all("LaunchEvent");
  assert.equal(events.length, 1);
  assert.equal(events[0].getAttribute("Type"), "OnMessageSend");
  assert.equal(events[0].getAttribute("SendMode"), "Block");
  assert.equal(events[0].getAttribute("FunctionName"), "onMessageSend");
});

test("the send event's requirement is Mailbox 1.12, the manifest's own stays low", () => {
  const sets = all("Sets").find((s) => s.getAttribute("DefaultMinVersion"));
  assert.equal(sets.getAttribute("DefaultMinVersion"), "1.12");
  const top = all("Set").find((s) => s.getAttribute("MinVersion"));
  assert.ok(Number(top.getAttribute("MinVersion")) <= 1.5);
});

test("every resource id resolves, every URL is HTTPS on the platform's origin", () => {
  const defined = new Set(["Image", "Url", "String"].flatMap((n) => all(n)).map((e) => e.getAttribute("id")).filter(Boolean));
  const used = all("*").flatMap((e) => (e.getAttribute("resid") ? [e.getAttribute("resid")] : []));
  assert.ok(used.length > 10);
  for (const id of used) assert.ok(defined.has(id), `resid ${id} is defined`);
  const urls = [...xml.matchAll(/(?:DefaultValue|Value)="(https?:[^"]+)"/g)].map((m) => m[1]);
  assert.ok(urls.length > 5);
  for (const u of urls) assert.ok(u.startsWith(`${ORIGIN}/`) || u === ORIGIN, u);
  assert.ok(!xml.includes("{{"), "every placeholder filled");
});

test("the ribbon has the Send secure toggle and the task pane button the send alert opens", async () => {
  const { TASKPANE_COMMAND } = await import("../src/send.js");
  const controls = all("Control").map((c) => c.getAttribute("id"));
  assert.ok(controls.includes("sealpostToggleSecure"));
  assert.ok(controls.includes(TASKPANE_COMMAND), "the alert's button opens a control that exists");
  const functions = all("FunctionName").map((f) => f.textContent.trim());
  assert.deepEqual(functions, ["toggleSecure"]);
  const commands = readFileSync(join(ROOT, "src", "commands", "commands.js"), "utf8");
  for (const name of ["toggleSecure", "onMessageSend"]) {
    assert.match(commands, new RegExp(`associate\\("${name}"`), `${name} is associated in the runtime`);
  }
});

test("English and German strings for everything the ribbon shows", () => {
  for (const s of all("String")) {
    const de = Array.from(s.getElementsByTagNameNS("*", "Override")).find((o) => o.getAttribute("Locale") === "de-DE");
    assert.ok(de && de.getAttribute("Value"), `${s.getAttribute("id")} has German`);
  }
});

test("Microsoft's validator accepts the converted manifest", () => {
  const dir = mkdtempSync(join(tmpdir(), "sealpost-manifest-"));
  try {
    writeFileSync(join(dir, "manifest.xml"), xml);
    execFileSync(bin("office-addin-manifest-converter"), ["convert", join(dir, "manifest.xml"), "-o", join(dir, "out")], { stdio: "pipe" });
    const path = join(dir, "out", "manifest.json");
    const json = JSON.parse(readFileSync(path, "utf8"));
    // The converter writes Mailbox 1.5 on the runtime and the send event although the XML says
    // 1.12 (checked in notes/outlook.md): raise it, as the XML means.
    const ext = json.extensions[0];
    for (const part of [...ext.runtimes, ...ext.autoRunEvents]) {
      for (const c of part.requirements.capabilities) if (c.name === "Mailbox") c.minVersion = "1.12";
    }
    assert.equal(ext.autoRunEvents[0].events[0].options.sendMode, "block");
    writeFileSync(path, JSON.stringify(json, null, 2));
    const validate = () => execFileSync(bin("office-addin-manifest"), ["validate", path], { stdio: "pipe", env: { ...process.env, OFFICE_ADDIN_USAGE_DATA_OPT_IN: "false" } }).toString();
    validate();
    // The validator is not a formality: it refuses a send mode that does not exist.
    ext.autoRunEvents[0].events[0].options.sendMode = "sendAnyway";
    writeFileSync(path, JSON.stringify(json, null, 2));
    assert.throws(validate);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
