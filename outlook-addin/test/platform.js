/**
 * The real `sealpost-platform` for the add-in's tests: started on a free port with a fresh data
 * folder, tenant acme with sender alice, and an HTTPS `fetch` that trusts the platform's own
 * certificate and nothing else. The binary is `SEALPOST_PLATFORM_BIN`, else the workspace's
 * debug build (`cargo build -p sealpost-platform`; scripts/test builds it first).
 */

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";

export const TENANT = "acme";
export const DOMAIN = "acme.example";
export const ALICE = `alice@${DOMAIN}`;
export const PASSWORD = "correct horse battery staple";

const ROOT = resolve(import.meta.dirname, "..", "..");
export const PLATFORM_BIN = process.env.SEALPOST_PLATFORM_BIN || join(ROOT, "target", "debug", "sealpost-platform");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

export class TestPlatform {
  static async start({ env = {} } = {}) {
    if (!existsSync(PLATFORM_BIN)) {
      throw new Error(`${PLATFORM_BIN} is missing: build it first (cargo build -p sealpost-platform)`);
    }
    const p = new TestPlatform();
    p.dir = mkdtempSync(join(tmpdir(), "sealpost-outlook-"));
    p.port = await freePort();
    p.origin = `https://localhost:${p.port}`;
    p.env = env;
    await p.serve();
    p.admin(["create-tenant", "--name", TENANT, "--domain", DOMAIN]);
    p.admin(["create-user", "--tenant", TENANT, "--email", ALICE], PASSWORD);
    p.fetch = httpsFetch(readFileSync(join(p.dir, "tls", "cert.pem")));
    return p;
  }

  serve() {
    this.proc = spawn(PLATFORM_BIN, ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dir], {
      env: { ...process.env, SEALPOST_LOG: "warn", SEALPOST_PUBLIC_URL: this.origin, ...this.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    return new Promise((ok, fail) => {
      let seen = "";
      const onData = (d) => {
        seen += d;
        if (seen.includes("listening on")) {
          this.proc.stdout.off("data", onData);
          this.proc.stdout.resume();
          ok();
        }
      };
      this.proc.stdout.on("data", onData);
      this.proc.on("exit", (code) => fail(new Error(`the platform exited (${code}) before it listened`)));
    });
  }

  /** Stops the server (the data stays until `remove`). */
  async stop() {
    if (!this.proc) return;
    const exited = new Promise((ok) => this.proc.once("exit", ok));
    this.proc.kill("SIGTERM");
    await exited;
    this.proc = null;
  }

  async remove() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  admin(args, stdin = "") {
    return execFileSync(PLATFORM_BIN, ["--data-dir", this.dir, "admin", ...args], {
      input: stdin,
      env: { ...process.env, SEALPOST_LOG: "warn" },
    }).toString();
  }

  setPolicy(changes) {
    const policy = { ...JSON.parse(this.admin(["show-policy", "--tenant", TENANT])), ...changes };
    const path = join(this.dir, "policy.json");
    execFileSync("sh", ["-c", 'cat > "$1"', "sh", path], { input: JSON.stringify(policy) });
    this.admin(["set-policy", "--tenant", TENANT, "--file", path]);
  }

  /** What the platform stores of message `id`, decrypted (`admin export-message`):
   * `{manifest, text, html, attachments: Map(name → Buffer)}`. */
  exportMessage(id) {
    const out = join(this.dir, `export-${id}`);
    this.admin(["export-message", "--id", id, "--out", out]);
    const read = (f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), "utf8") : null);
    const attachments = new Map();
    for (const f of readdirSync(join(out, "attachments"))) {
      attachments.set(f.replace(/^\d+-/, ""), readFileSync(join(out, "attachments", f)));
    }
    return { manifest: JSON.parse(read("manifest.json")), text: read("body.txt"), html: read("body.html"), attachments };
  }

  /** A device token for alice, through the API. */
  async signIn(email = ALICE, password = PASSWORD) {
    const r = await this.fetch(`${this.origin}/api/v1/auth/sign-in`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password, device: "Outlook test" }),
    });
    return JSON.parse(await r.text()).token;
  }

  /** Messages alice sent, newest first (the API's list). */
  async sent(token) {
    const r = await this.fetch(`${this.origin}/api/v1/messages`, { headers: { Authorization: `Bearer ${token}` } });
    return JSON.parse(await r.text()).messages;
  }
}

/** A `fetch` over node:https trusting only `ca`: the add-in's code runs against it unchanged. */
export function httpsFetch(ca) {
  return (url, { method = "GET", headers = {}, body, signal } = {}) =>
    new Promise((ok, fail) => {
      const req = request(url, { method, headers, ca, signal }, (res) => {
        const parts = [];
        res.on("data", (d) => parts.push(d));
        res.on("end", () => {
          const buf = Buffer.concat(parts);
          ok({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, headers: res.headers, text: async () => buf.toString("utf8") });
        });
        res.on("error", fail);
      });
      req.on("error", fail);
      if (body != null) req.end(typeof body === "string" ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      else req.end();
    });
}
