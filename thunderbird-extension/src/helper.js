// The one connection to sealpost-helper (docs/native-messaging.md): requests with ids,
// replies matched to them, progress events passed to whoever asked. The port is opened when
// first needed and opened again after the helper exits; every request has a time limit, so
// nothing waits forever on a helper that hangs.

export const HOST_NAME = "net.sealpost.helper";

/** A failure the user can be told about: `code` picks the words (see _locales). */
export class HelperError extends Error {
  constructor(code, message, detail = null) {
    super(message || code);
    this.code = code;
    this.detail = detail;
  }
}

/** How long a request may stay without an answer or a progress event, by type. */
const SILENCE_LIMIT_MS = {
  hello: 15_000,
  status: 30_000,
  classify: 15_000,
  sign_in: 60_000,
  sign_out: 30_000,
  send_begin: 60_000,
  send_piece: 60_000,
  send_end: 120_000,
  cancel: 15_000,
  mark_sent: 30_000,
};

export class Helper {
  constructor(hostName = HOST_NAME) {
    this.hostName = hostName;
    this.port = null;
    this.nextId = 1;
    this.pending = new Map();
    this.hello = null;
    this.heard = false;
  }

  /** Opens the port if needed. Errors surface on the first request. */
  connect() {
    if (this.port) {
      return this.port;
    }
    const port = browser.runtime.connectNative(this.hostName);
    port.onMessage.addListener(message => this.receive(message));
    port.onDisconnect.addListener(p => this.disconnected(p));
    this.port = port;
    this.hello = null;
    this.heard = false;
    return port;
  }

  /** Sends `request` and resolves with the reply; `onProgress` gets progress events. */
  request(request, { onProgress = null } = {}) {
    const port = this.connect();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry = { type: request.type, resolve, reject, onProgress, timer: null };
      const arm = () => {
        clearTimeout(entry.timer);
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new HelperError("timeout", `the helper did not answer ${request.type} in time`));
        }, SILENCE_LIMIT_MS[request.type] ?? 30_000);
      };
      entry.arm = arm;
      arm();
      this.pending.set(id, entry);
      try {
        port.postMessage({ ...request, id });
      } catch (e) {
        this.settle(id);
        reject(new HelperError("helper_missing", String(e)));
      }
    });
  }

  /** `hello`, asked once per connection. */
  async greet() {
    if (!this.hello) {
      this.hello = await this.request({ type: "hello" });
    }
    return this.hello;
  }

  receive(message) {
    this.heard = true;
    const entry = this.pending.get(message?.id);
    if (!entry) {
      return;
    }
    if (message.event === "progress") {
      entry.arm();
      entry.onProgress?.(message);
      return;
    }
    this.settle(message.id);
    if (message.ok) {
      entry.resolve(message);
    } else {
      const e = message.error ?? {};
      entry.reject(new HelperError(e.code ?? "helper_error", e.message, e.detail ?? null));
    }
  }

  settle(id) {
    const entry = this.pending.get(id);
    if (entry) {
      clearTimeout(entry.timer);
      this.pending.delete(id);
    }
  }

  disconnected(port) {
    if (this.port === port) {
      this.port = null;
      this.hello = null;
    }
    // Thunderbird reports a host it cannot start (no manifest, no binary) as a disconnect
    // before anything was heard from it.
    const why = port.error?.message ?? "the helper exited";
    const missing = !this.heard;
    for (const [id, entry] of this.pending) {
      this.settle(id);
      entry.reject(new HelperError(missing ? "helper_missing" : "helper_exited", why));
    }
  }
}
