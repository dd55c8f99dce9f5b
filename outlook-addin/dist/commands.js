(() => {
  var __knownSymbol = (name, symbol) => (symbol = Symbol[name]) ? symbol : /* @__PURE__ */ Symbol.for("Symbol." + name);
  var __typeError = (msg) => {
    throw TypeError(msg);
  };
  var __async = (__this, __arguments, generator) => {
    return new Promise((resolve, reject) => {
      var fulfilled = (value) => {
        try {
          step(generator.next(value));
        } catch (e) {
          reject(e);
        }
      };
      var rejected = (value) => {
        try {
          step(generator.throw(value));
        } catch (e) {
          reject(e);
        }
      };
      var step = (x) => x.done ? resolve(x.value) : Promise.resolve(x.value).then(fulfilled, rejected);
      step((generator = generator.apply(__this, __arguments)).next());
    });
  };
  var __await = function(promise, isYieldStar) {
    this[0] = promise;
    this[1] = isYieldStar;
  };
  var __asyncGenerator = (__this, __arguments, generator) => {
    var resume = (k, v, yes, no) => {
      try {
        var x = generator[k](v), isAwait = (v = x.value) instanceof __await, done = x.done;
        Promise.resolve(isAwait ? v[0] : v).then((y) => isAwait ? resume(k === "return" ? k : "next", v[1] ? { done: y.done, value: y.value } : y, yes, no) : yes({ value: y, done })).catch((e) => resume("throw", e, yes, no));
      } catch (e) {
        no(e);
      }
    }, method = (k, call2, wait, clear) => it[k] = (x) => (call2 = new Promise((yes, no, run) => (run = () => resume(k, x, yes, no), q ? q.then(run) : run())), clear = () => q === wait && (q = 0), q = wait = call2.then(clear, clear), call2), q, it = {};
    return generator = generator.apply(__this, __arguments), it[__knownSymbol("asyncIterator")] = () => it, method("next"), method("throw"), method("return"), it;
  };
  var __yieldStar = (value) => {
    var obj = value[__knownSymbol("asyncIterator")], isAwait = false, method, it = {};
    if (obj == null) {
      obj = value[__knownSymbol("iterator")]();
      method = (k) => it[k] = (x) => obj[k](x);
    } else {
      obj = obj.call(value);
      method = (k) => it[k] = (v) => {
        if (isAwait) {
          isAwait = false;
          if (k === "throw") throw v;
          return v;
        }
        isAwait = true;
        return {
          done: false,
          value: new __await(new Promise((resolve) => {
            var x = obj[k](v);
            if (!(x instanceof Object)) __typeError("Object expected");
            resolve(x);
          }), 1)
        };
      };
    }
    return it[__knownSymbol("iterator")] = () => it, method("next"), "throw" in obj ? method("throw") : it.throw = (x) => {
      throw x;
    }, "return" in obj && method("return"), it;
  };
  var __forAwait = (obj, it, method) => (it = obj[__knownSymbol("asyncIterator")]) ? it.call(obj) : (obj = obj[__knownSymbol("iterator")](), it = {}, method = (key, fn) => (fn = obj[key]) && (it[key] = (arg) => new Promise((yes, no, done) => (arg = fn.call(obj, arg), done = arg.done, Promise.resolve(arg.value).then((value) => yes({ value, done }), no)))), method("next"), method("return"), it);

  // src/global.js
  var globalObject = findGlobalObject();
  function findGlobalObject() {
    if (typeof self === "object" && self) return self;
    if (typeof global === "object" && global) return global;
    const viaSloppyCall = sloppyThis();
    if (typeof viaSloppyCall === "object" && viaSloppyCall) return viaSloppyCall;
    return Function("return this")();
  }
  function sloppyThis() {
    return this;
  }

  // src/unlockcode.js
  var UNLOCK_CODE_MIN = 6;
  var UNLOCK_CODE_MAX = 64;
  function checkedUnlockCode(raw) {
    if (typeof raw !== "string") return null;
    const code = raw.trim();
    const chars = [...code].length;
    return chars >= UNLOCK_CODE_MIN && chars <= UNLOCK_CODE_MAX ? code : null;
  }

  // src/session.js
  var SESSION_KEY = "sealpost.session";
  var STATUS_KEY = "sealpost.status";
  var UNLOCK_PREFIX = "sealpost.unlock.";
  var UNLOCK_CODE_TTL_MS = 24 * 60 * 60 * 1e3;
  var MARKER_TTL_MS = 30 * 24 * 60 * 60 * 1e3;
  var UnlockCodeUnusable = class extends Error {
    constructor(reason) {
      super(`the unlock code set for this message is ${reason}`);
      this.name = "UnlockCodeUnusable";
      this.reason = reason;
    }
  };
  function defaultStore() {
    const runtime = globalObject.OfficeRuntime;
    if (runtime && runtime.storage) return runtime.storage;
    if (globalObject.localStorage) return globalObject.localStorage;
    throw new Error("this Outlook offers the add-in no storage");
  }
  var Session = class {
    constructor(store = defaultStore()) {
      this.store = store;
    }
    /**
     * `{origin, token, email, device, tokenId, bridge: {url, secret}}` or null: a direct
     * sign-in (`token`), a pairing with the helper (`bridge`), or both.
     */
    load() {
      return __async(this, null, function* () {
        const raw = yield this.store.getItem(SESSION_KEY);
        if (!raw) return null;
        try {
          const s = JSON.parse(raw);
          return s && s.origin && (s.token || s.bridge) ? s : null;
        } catch (e) {
          return null;
        }
      });
    }
    save(session) {
      return __async(this, null, function* () {
        yield this.store.setItem(SESSION_KEY, JSON.stringify(session));
      });
    }
    clear() {
      return __async(this, null, function* () {
        yield this.store.removeItem(SESSION_KEY);
      });
    }
    /**
     * What the last or current send is doing, for the task pane: `{phase, done, total,
     * messageId, error, transport, at}`, `phase` one of reading, uploading, sent, failed.
     * Written often during a send; never holds message content.
     */
    status() {
      return __async(this, null, function* () {
        const raw = yield this.store.getItem(STATUS_KEY);
        try {
          return raw ? JSON.parse(raw) : null;
        } catch (e) {
          return null;
        }
      });
    }
    setStatus(status) {
      return __async(this, null, function* () {
        yield this.store.setItem(STATUS_KEY, JSON.stringify(Object.assign({}, status, { at: Date.now() })));
      });
    }
    /**
     * Keeps `code` (trimmed) as the unlock code of the draft `itemKey` (its Outlook item id,
     * `getItemIdAsync`) until its send takes it. Throws a `RangeError` for a code the platform
     * would refuse.
     */
    setUnlockCode(_0, _1) {
      return __async(this, arguments, function* (itemKey, code, now = Date.now()) {
        const checked = checkedUnlockCode(code);
        if (!checked) {
          throw new RangeError(`an unlock code has ${UNLOCK_CODE_MIN} to ${UNLOCK_CODE_MAX} characters`);
        }
        yield this.store.setItem(unlockKey(itemKey), JSON.stringify({ code: checked, at: now }));
      });
    }
    /**
     * The unlock code set for the draft `itemKey`, or null if none was; it stays set. Throws
     * `UnlockCodeUnusable` if one was set but is past UNLOCK_CODE_TTL_MS or unreadable.
     */
    unlockCode(_0) {
      return __async(this, arguments, function* (itemKey, now = Date.now()) {
        const raw = yield this.store.getItem(unlockKey(itemKey));
        return raw == null ? null : usableCode(parsed(raw), now);
      });
    }
    /** Forgets the unlock code of the draft `itemKey` (or its marker), if any. */
    forgetUnlockCode(itemKey) {
      return __async(this, null, function* () {
        yield this.store.removeItem(unlockKey(itemKey));
      });
    }
    /**
     * Replaces every unlock code set longer than UNLOCK_CODE_TTL_MS ago (or unreadable) by a
     * marker without the secret, and forgets markers older than MARKER_TTL_MS. Needs a store that
     * lists its keys (`OfficeRuntime.storage.getKeys`, or `localStorage`); returns how many codes
     * it took off the disk.
     */
    forgetStaleUnlockCodes() {
      return __async(this, arguments, function* (now = Date.now()) {
        let forgotten = 0;
        for (const key of yield storeKeys(this.store)) {
          if (!key.startsWith(UNLOCK_PREFIX)) continue;
          const entry = parsed(yield this.store.getItem(key));
          if (entry && entry.expired === true) {
            if (!(now - entry.at < MARKER_TTL_MS)) yield this.store.removeItem(key);
            continue;
          }
          try {
            usableCode(entry, now);
          } catch (e) {
            if (!(e instanceof UnlockCodeUnusable)) throw e;
            yield this.store.setItem(key, JSON.stringify({ expired: true, at: now }));
            forgotten++;
          }
        }
        return forgotten;
      });
    }
  };
  function usableCode(entry, now) {
    if (entry && entry.expired === true) throw new UnlockCodeUnusable("expired");
    const code = entry && checkedUnlockCode(entry.code);
    if (!code || typeof entry.at !== "number") throw new UnlockCodeUnusable("damaged");
    if (!(now - entry.at < UNLOCK_CODE_TTL_MS)) throw new UnlockCodeUnusable("expired");
    return code;
  }
  function parsed(raw) {
    try {
      return raw == null ? null : JSON.parse(raw);
    } catch (e) {
      return null;
    }
  }
  function storeKeys(store) {
    return __async(this, null, function* () {
      if (typeof store.getKeys === "function") return (yield store.getKeys()) || [];
      if (typeof store.key === "function" && typeof store.length === "number") {
        const keys = [];
        for (let i = 0; i < store.length; i++) keys.push(store.key(i));
        return keys.filter((k) => k != null);
      }
      return [];
    });
  }
  function unlockKey(itemKey) {
    if (typeof itemKey !== "string" || !itemKey) throw new TypeError("a draft's item id is needed");
    return UNLOCK_PREFIX + itemKey;
  }

  // src/abort.js
  var Aborted = class extends Error {
    constructor() {
      super("the request was given up");
      this.name = "Aborted";
    }
  };
  function abortable() {
    const native = typeof AbortController === "function" ? new AbortController() : null;
    const signal = native ? native.signal : standInSignal();
    return {
      signal,
      fetchSignal: native ? native.signal : void 0,
      abort: () => native ? native.abort() : signal.fire(),
      race: (promise) => race(promise, signal)
    };
  }
  function race(promise, signal) {
    if (signal.aborted) return Promise.reject(new Aborted());
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Aborted());
      signal.addEventListener("abort", onAbort);
      promise.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        }
      );
    });
  }
  function standInSignal() {
    const listeners = [];
    return {
      aborted: false,
      addEventListener(type, fn) {
        if (type === "abort" && !listeners.includes(fn)) listeners.push(fn);
      },
      removeEventListener(type, fn) {
        const i = listeners.indexOf(fn);
        if (i >= 0) listeners.splice(i, 1);
      },
      fire() {
        if (this.aborted) return;
        this.aborted = true;
        for (const fn of listeners.splice(0)) fn();
      }
    };
  }

  // src/api.js
  var ApiFailure = Object.freeze({
    /** No answer: network down, DNS, TLS, refused connection. */
    Unreachable: "unreachable",
    /** The deadline passed before an answer. */
    TimedOut: "timed_out",
    /** 401: the device token is unknown, revoked or expired. */
    SignedOut: "signed_out",
    /** Any other error answer; `code` and `message` are the platform's. */
    Refused: "refused"
  });
  var ApiError = class extends Error {
    constructor(kind, message, { status = 0, code = "", body = null } = {}) {
      super(message);
      this.name = "ApiError";
      this.kind = kind;
      this.status = status;
      this.code = code;
      this.body = body;
    }
  };
  var REQUEST_SECONDS = 30;
  var UPLOAD_SECONDS = 120;
  var Platform = class {
    /**
     * @param {string} origin the platform's origin, e.g. "https://sealpost.example.com"
     * @param {string|null} token the device token from sign-in
     * @param {typeof fetch} fetchImpl injected in tests that count requests
     */
    constructor(origin, token = null, fetchImpl = globalObject.fetch) {
      this.origin = String(origin).replace(/\/+$/, "");
      this.token = token;
      this.fetchImpl = fetchImpl;
    }
    /** Sends one request; resolves with the parsed JSON answer (null for 204). */
    request(_0, _1) {
      return __async(this, arguments, function* (method, path, { json, body, headers = {}, seconds = REQUEST_SECONDS, signal } = {}) {
        const controller = abortable();
        const onAbort = () => controller.abort();
        if (signal) {
          if (signal.aborted) controller.abort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }
        const timer = setTimeout(() => controller.abort(), seconds * 1e3);
        const h = Object.assign({ Accept: "application/json" }, headers);
        if (this.token) h.Authorization = `Bearer ${this.token}`;
        if (json !== void 0) h["Content-Type"] = "application/json";
        let response;
        try {
          const fetchImpl = this.fetchImpl;
          response = yield controller.race(fetchImpl(`${this.origin}${path}`, {
            method,
            headers: h,
            body: json !== void 0 ? JSON.stringify(json) : body,
            signal: controller.fetchSignal,
            credentials: "omit"
          }));
          const text = yield controller.race(response.text());
          const parsed2 = text ? parseJson(text) : null;
          if (!response.ok) throw refusal(response.status, parsed2);
          return parsed2;
        } catch (e) {
          if (e instanceof ApiError) throw e;
          if (controller.signal.aborted) {
            throw new ApiError(ApiFailure.TimedOut, `${method} ${path}: no answer within ${seconds} s`);
          }
          const err = new ApiError(ApiFailure.Unreachable, `${method} ${path}: ${e && e.message}`);
          err.origin = this.origin;
          throw err;
        } finally {
          clearTimeout(timer);
          if (signal) signal.removeEventListener("abort", onAbort);
        }
      });
    }
    /** `GET /healthz`: `{status: "ok"}`; a platform that cannot take work answers 503. */
    health() {
      return this.request("GET", "/healthz");
    }
    signIn({ email, password, totp, device }) {
      const json = { email, password, device };
      if (totp) json.totp = totp;
      return this.request("POST", "/api/v1/auth/sign-in", { json });
    }
    me() {
      return this.request("GET", "/api/v1/me");
    }
    /** Revokes this token; `seconds` shortens the deadline for someone waiting to sign out. */
    signOut({ seconds = REQUEST_SECONDS } = {}) {
      return this.request("DELETE", "/api/v1/tokens/current", { seconds });
    }
    platformKey() {
      return this.request("GET", "/api/v1/keys/platform");
    }
    lookupKeys(emails) {
      const q = emails.map(encodeURIComponent).join(",");
      return this.request("GET", `/api/v1/keys/lookup?email=${q}`);
    }
    classify(candidate, toggle) {
      return this.request("POST", "/api/v1/classify", { json: { candidate, toggle } });
    }
    createMessage(slip) {
      return this.request("POST", "/api/v1/messages", { json: slip });
    }
    uploadOffset(id) {
      return this.request("GET", `/api/v1/messages/${id}/envelope`);
    }
    upload(id, offset, bytes, signal) {
      return this.request("PATCH", `/api/v1/messages/${id}/envelope`, {
        body: bytes,
        headers: { "Upload-Offset": String(offset), "Content-Type": "application/octet-stream" },
        seconds: UPLOAD_SECONDS,
        signal
      });
    }
    finalise(id) {
      return this.request("POST", `/api/v1/messages/${id}/finalise`);
    }
    recall(id) {
      return this.request("POST", `/api/v1/messages/${id}/recall`);
    }
    message(id) {
      return this.request("GET", `/api/v1/messages/${id}`);
    }
    setUnlockCode(id, code) {
      return this.request("PUT", `/api/v1/messages/${id}/unlock-code`, { json: { code } });
    }
  };
  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }
  function refusal(status, body) {
    const err = body && body.error || {};
    const kind = status === 401 ? ApiFailure.SignedOut : ApiFailure.Refused;
    const message = err.message || `the platform answered ${status}`;
    return new ApiError(kind, message, { status, code: err.code || "", body });
  }

  // src/office.js
  var OfficeError = class extends Error {
    constructor(what, error) {
      super(`${what}: ${error && error.message || "Office reported a failure"}`);
      this.name = "OfficeError";
      this.code = error && (error.name || error.code) || "Unknown";
    }
  };
  function call(what, target, method, ...args) {
    return new Promise((resolve, reject) => {
      if (!target || typeof target[method] !== "function") {
        reject(new OfficeError(what, { name: "NotSupported", message: `${method} is not available in this Outlook` }));
        return;
      }
      try {
        target[method](...args, (result) => {
          if (result && result.status === "failed") reject(new OfficeError(what, result.error));
          else resolve(result ? result.value : void 0);
        });
      } catch (e) {
        reject(new OfficeError(what, e));
      }
    });
  }

  // src/base64.js
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  var INVALID = -1 << 30;
  var SHIFTED = [18, 12, 6, 0].map((shift) => {
    const table = new Int32Array(256).fill(INVALID);
    for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i << shift;
    return table;
  });
  var [S0, S1, S2, S3] = SHIFTED;
  var WHITESPACE = /[\r\n\t ]+/g;
  var STEP = 1 << 20;
  function decodeBase64(text) {
    const s = String(text);
    try {
      return decodeClean(s);
    } catch (e) {
      if (!(e instanceof BrokenBase64)) throw e;
    }
    const clean = s.replace(WHITESPACE, "");
    if (clean.length === s.length) throw broken();
    return decodeClean(clean);
  }
  var BrokenBase64 = class extends Error {
  };
  function broken() {
    return new BrokenBase64("an attachment's base64 is broken");
  }
  function decodeClean(s) {
    let end = s.length;
    while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
    if (s.length - end > 2 || end % 4 === 1) throw broken();
    const tail = end % 4;
    const body = end - tail;
    if (typeof Uint8Array.fromBase64 === "function") {
      try {
        return Uint8Array.fromBase64(s.slice(0, end), { lastChunkHandling: "loose" });
      } catch (e) {
        throw broken();
      }
    }
    const out = new Uint8Array(body / 4 * 3 + (tail ? tail - 1 : 0));
    const codes = new Uint8Array(Math.min(STEP, body));
    const encoder = typeof TextEncoder === "function" ? new TextEncoder() : null;
    let o = 0;
    for (let at = 0; at < body; at += STEP) {
      const n = characterCodes(s, at, Math.min(at + STEP, body), codes, encoder);
      for (let i = 0; i < n; i += 4) {
        const w = S0[codes[i]] | S1[codes[i + 1]] | S2[codes[i + 2]] | S3[codes[i + 3]];
        if (w < 0) throw broken();
        out[o] = w >> 16;
        out[o + 1] = w >> 8;
        out[o + 2] = w;
        o += 3;
      }
    }
    if (tail) {
      const at = (i) => asciiCode(s.charCodeAt(body + i));
      const w = S0[at(0)] | S1[at(1)] | (tail === 3 ? S2[at(2)] : 0);
      if (w < 0) throw broken();
      out[o++] = w >> 16;
      if (tail === 3) out[o] = w >> 8;
    }
    return out;
  }
  function asciiCode(c) {
    return c > 127 ? 128 : c;
  }
  function characterCodes(s, from, to, codes, encoder) {
    const n = to - from;
    if (encoder) {
      const { read, written } = encoder.encodeInto(s.slice(from, to), codes);
      if (read !== n || written !== n) throw broken();
      return n;
    }
    for (let i = 0; i < n; i++) codes[i] = asciiCode(s.charCodeAt(from + i));
    return n;
  }
  function encodeBase64(bytes) {
    if (typeof globalObject.btoa === "function") {
      let binary = "";
      for (let i = 0; i < bytes.length; i += 32768) {
        binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
      }
      return globalObject.btoa(binary);
    }
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = bytes[i] << 16 | (bytes[i + 1] || 0) << 8 | (bytes[i + 2] || 0);
      const left = bytes.length - i;
      out += ALPHABET[n >> 18 & 63] + ALPHABET[n >> 12 & 63] + (left > 1 ? ALPHABET[n >> 6 & 63] : "=") + (left > 2 ? ALPHABET[n & 63] : "=");
    }
    return out;
  }

  // src/item.js
  var SECURE_HEADER = "x-sealpost-secure";
  var SECURE_REQUESTED = "requested";
  var MESSAGE_ID_HEADER = "X-Sealpost-Message-Id";
  var CloudAttachmentError = class extends Error {
    constructor(name) {
      super(`"${name}" is a link to a cloud file`);
      this.name = "CloudAttachmentError";
      this.attachment = name;
    }
  };
  function secureRequested(item2) {
    return __async(this, null, function* () {
      const headers = yield call("read the message's headers", item2.internetHeaders, "getAsync", [SECURE_HEADER]);
      return headerValue(headers, SECURE_HEADER) === SECURE_REQUESTED;
    });
  }
  function canNameDraft(item2, requirements2) {
    const supported = !requirements2 || typeof requirements2.isSetSupported !== "function" || requirements2.isSetSupported("Mailbox", "1.8");
    return Boolean(item2) && supported && typeof item2.saveAsync === "function" && typeof item2.getItemIdAsync === "function";
  }
  function savedDraftId(item2) {
    return __async(this, null, function* () {
      try {
        return (yield call("name the draft", item2, "getItemIdAsync")) || null;
      } catch (e) {
        return null;
      }
    });
  }
  function setSecureRequested(item2, on) {
    return __async(this, null, function* () {
      if (on) {
        yield call("mark the message secure", item2.internetHeaders, "setAsync", { [SECURE_HEADER]: SECURE_REQUESTED });
      } else {
        yield call("unmark the message", item2.internetHeaders, "removeAsync", [SECURE_HEADER]);
      }
      yield call("save the draft", item2, "saveAsync");
    });
  }
  function headerValue(headers, name) {
    if (!headers) return "";
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    return key ? String(headers[key]).trim() : "";
  }
  function readMessage(item2) {
    return __async(this, null, function* () {
      const to = yield recipients(item2.to, "To");
      const cc = yield recipients(item2.cc, "Cc");
      const bcc = item2.bcc ? yield recipients(item2.bcc, "Bcc") : [];
      const subject = (yield call("read the subject", item2.subject, "getAsync")) || "";
      const bodyType = (yield call("read the body's format", item2.body, "getTypeAsync")) === "html" ? "html" : "text";
      const text = (yield call("read the body", item2.body, "getAsync", "text")) || "";
      const html = bodyType === "html" ? (yield call("read the body", item2.body, "getAsync", "html")) || "" : null;
      const attachments = (yield call("list the attachments", item2, "getAttachmentsAsync")) || [];
      return { to, cc, bcc, subject, bodyType, text, html, attachments };
    });
  }
  function recipients(field, label) {
    return __async(this, null, function* () {
      const list = (yield call(`read the ${label} recipients`, field, "getAsync")) || [];
      return list.map((r) => String(r.emailAddress || "").trim().toLowerCase()).filter(Boolean);
    });
  }
  function attachmentBytes(item2, attachment) {
    return __async(this, null, function* () {
      if (attachment.attachmentType === "cloud") throw new CloudAttachmentError(attachment.name);
      const content = yield call(`read the attachment "${attachment.name}"`, item2, "getAttachmentContentAsync", attachment.id);
      switch (content && content.format) {
        case "base64":
          return decodeBase64(content.content);
        case "eml":
        case "iCalendar":
          return new TextEncoder().encode(content.content);
        case "url":
          throw new CloudAttachmentError(attachment.name);
        default:
          throw new Error(`attachment "${attachment.name}" came in an unknown format`);
      }
    });
  }
  function replaceWithStub(_0, _1) {
    return __async(this, arguments, function* (item2, { messageId, stub, original }) {
      const removed = [];
      try {
        yield call("mark the stub", item2.internetHeaders, "setAsync", { [MESSAGE_ID_HEADER]: messageId });
        const body = original.bodyType === "html" ? stub.html : stub.text;
        yield call("replace the body with the link", item2.body, "setAsync", body, { coercionType: original.bodyType });
        yield call("replace the subject", item2.subject, "setAsync", stub.subject);
        for (const a of original.attachments) {
          if (a.isInline) continue;
          yield call(`remove the attachment "${a.name}"`, item2, "removeAttachmentAsync", a.id);
          removed.push(a);
        }
      } catch (e) {
        yield restore(item2, original, removed).catch(() => {
        });
        throw e;
      }
    });
  }
  function restore(item2, original, removed) {
    return __async(this, null, function* () {
      yield call("restore the body", item2.body, "setAsync", original.body, { coercionType: original.bodyType });
      yield call("restore the subject", item2.subject, "setAsync", original.subject);
      yield call("restore the headers", item2.internetHeaders, "removeAsync", [MESSAGE_ID_HEADER]);
      for (const a of removed) {
        yield call(`attach "${a.name}" again`, item2, "addFileAttachmentFromBase64Async", encodeBase64(a.bytes), a.name, { isInline: false });
      }
    });
  }

  // src/transport/bridge.js
  var PIECE_BYTES = 4 << 20;
  var QUICK_SECONDS = 15;
  var UPLOAD_SECONDS2 = 280;
  var BridgeError = class extends Error {
    constructor(code, message) {
      super(message);
      this.name = "BridgeError";
      this.code = code;
    }
  };
  function post(_0, _1, _2, _3) {
    return __async(this, arguments, function* (fetchImpl, url, path, { secret, body, seconds, signal }) {
      const controller = abortable();
      const timer = setTimeout(() => controller.abort(), seconds * 1e3);
      const onAbort = () => controller.abort();
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
      try {
        const headers = { "Content-Type": "application/json" };
        if (secret) headers.Authorization = `Bearer ${secret}`;
        const r = yield controller.race(fetchImpl(`${url}${path}`, {
          method: body === void 0 ? "GET" : "POST",
          headers,
          body: body === void 0 ? void 0 : JSON.stringify(body),
          signal: controller.fetchSignal
        }));
        const parsed2 = JSON.parse((yield controller.race(r.text())) || "null");
        if (!r.ok) {
          const e = parsed2 && parsed2.error || {};
          throw new BridgeError(e.code || `http_${r.status}`, e.message || `the helper answered ${r.status}`);
        }
        return parsed2;
      } catch (e) {
        if (e instanceof BridgeError) throw e;
        throw new BridgeError("unreachable", controller.signal.aborted ? "the helper did not answer in time" : "the helper does not answer on this computer");
      } finally {
        clearTimeout(timer);
        if (signal) signal.removeEventListener("abort", onAbort);
      }
    });
  }
  var BridgeTransport = class {
    /** @param {{url: string, secret: string}} pairing from `pairWithHelper` */
    constructor(pairing, fetchImpl = globalObject.fetch) {
      this.url = pairing.url;
      this.secret = pairing.secret;
      this.fetchImpl = fetchImpl;
      this.name = "helper";
    }
    /** One native-messaging request; resolves with the reply, throws `BridgeError` for `ok: false`. */
    request(_0) {
      return __async(this, arguments, function* (body, { seconds = QUICK_SECONDS, signal } = {}) {
        const reply = yield post(this.fetchImpl, this.url, "/v1/request", { secret: this.secret, body, seconds, signal });
        if (!reply || reply.ok !== true) {
          const e = reply && reply.error || {};
          throw new BridgeError(e.code || "helper_error", e.message || "the helper refused");
        }
        return reply;
      });
    }
    /** `{signed_in, email, platform, …}`: whether the helper can send for this user. */
    hello(seconds = 2) {
      return this.request({ type: "hello" }, { seconds });
    }
    classify(candidate, toggle) {
      return this.request({ type: "classify", candidate, toggle });
    }
    send(_0) {
      return __async(this, arguments, function* (message, { onProgress = () => {
      }, signal, unlockCode = null } = {}) {
        const { email } = yield this.hello(QUICK_SECONDS);
        const begin = yield this.request(Object.assign({
          type: "send_begin",
          message: { from: email, to: message.to, cc: message.cc, bcc: message.bcc, subject: message.subject, text: message.text, html: message.html },
          attachments: message.attachments.map((a) => ({ name: a.name, content_type: a.contentType, size: a.bytes.length, content_id: a.contentId }))
        }, unlockCode ? { unlock_code: unlockCode } : {}), { signal });
        const send = begin.send;
        try {
          for (let i = 0; i < message.attachments.length; i++) {
            const bytes = message.attachments[i].bytes;
            for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
              const data = encodeBase64(bytes.subarray(at, at + PIECE_BYTES));
              yield this.request({ type: "send_piece", send, attachment: i, data }, { signal });
            }
          }
          const poll = setInterval(() => {
            post(this.fetchImpl, this.url, `/v1/progress/${send}`, { secret: this.secret, seconds: 2 }).then((p) => onProgress(p.done, p.total), () => {
            });
          }, 500);
          let done;
          try {
            done = yield this.request({ type: "send_end", send }, { seconds: UPLOAD_SECONDS2, signal });
          } finally {
            clearInterval(poll);
          }
          onProgress(begin.envelope_size, begin.envelope_size);
          return { id: done.message_id, link: done.link, stub: done.stub, notifiedByPlatform: !!done.notified_by_platform };
        } catch (e) {
          yield this.request({ type: "cancel", send }).catch(() => {
          });
          throw e;
        }
      });
    }
    /** Makes a sealed message unreadable (its stub never left). */
    recall(id) {
      return this.request({ type: "recall", message_id: id });
    }
  };

  // src/i18n.js
  var STRINGS = {
    en: {
      // The send handler's answers: Outlook shows them in its "can't send" alert, with a button
      // that opens the task pane. Each says what happened and what to do.
      notSignedIn: "Sealpost: sign in before sending. Open Sealpost, sign in, then press Send again. The message was not sent.",
      platformUnreachable: "Sealpost could not reach {origin}. The message was not sent; check your connection and press Send again.",
      platformError: "Sealpost could not send this message securely: {detail} The message was not sent.",
      sessionEnded: "Your Sealpost sign-in has ended. Open Sealpost, sign in again, then press Send again. The message was not sent.",
      timedOut: "Sending securely took too long and was stopped. The message was not sent; press Send again, or open Sealpost to see why.",
      cloudAttachment: '"{name}" is a shared link to a cloud file, which Sealpost cannot encrypt. Attach a copy of the file instead, then press Send again.',
      attachmentUnreadable: 'Sealpost could not read the attachment "{name}". The message was not sent; remove and attach it again, then press Send again.',
      tooLarge: "This message is too large to send securely from Outlook ({size}; the limit here is {limit}). The message was not sent.",
      helperError: "The Sealpost helper on this computer reported a problem: {detail} The message was not sent.",
      outlookError: "Outlook did not let Sealpost {what}. The message was not sent; press Send again.",
      unexpected: "Sealpost stopped this send because something unexpected happened ({detail}). The message was not sent.",
      deliveredByPlatform: "Sent securely: Sealpost mailed each recipient a personal link, so Outlook sends nothing. You can discard this draft; it holds only the link.",
      unlockCodeExpired: "The unlock code you set for this message is more than a day old, so Sealpost no longer keeps it. The message was not sent: open Sealpost, set the code again (or remove it), then press Send.",
      unlockCodeDamaged: "The unlock code you set for this message could not be read. The message was not sent: open Sealpost, set the code again (or remove it), then press Send.",
      // The ribbon toggle's notification on the message.
      secureOn: "Send secure is on: this message will be encrypted, and recipients get a link.",
      secureOff: "Send secure is off: policy may still secure this message when you send it.",
      // The task pane (src/taskpane/): sign-in, the state of Sealpost in this Outlook, the
      // message's unlock code, and the last send.
      paneLoading: "Starting Sealpost…",
      signInHeading: "Sign in to Sealpost",
      signInIntro: "Sign in once in this Outlook to send messages securely. You stay signed in on this computer until you sign out.",
      emailLabel: "Email address",
      passwordLabel: "Password",
      totpLabel: "Code from your authenticator app",
      signInButton: "Sign in",
      signingIn: "Signing in…",
      signInMissing: "Enter your email address and password.",
      signInTotpNeeded: "Enter the 6-digit code from your authenticator app, then sign in again.",
      signInWrong: "Wrong email address or password.",
      signInWrongCode: "Wrong email address, password or code. Each code works once; wait for the next one.",
      signInLocked: "Too many failed sign-ins: this account is locked. Try again {when}.",
      signInRateLimited: "Too many sign-in attempts from this network. Try again {when}.",
      signInUnreachable: "Sealpost could not reach {origin}. Check your connection, then sign in again.",
      signInRefused: "The platform refused the sign-in: {detail}",
      signedOut: "Signed out. This Outlook's sign-in was ended on the platform.",
      signedOutLocally: 'Signed out in this Outlook, but {origin} did not confirm that the sign-in was ended there. If this computer is not yours, ask IT to revoke the device "{device}".',
      sessionGone: "Your Sealpost sign-in has ended (it was revoked or has expired). Sign in again.",
      deviceOn: "Outlook on {platform}",
      deviceWeb: "Outlook on the web",
      statusHeading: "Sealpost in this Outlook",
      platformLabel: "Platform",
      userLabel: "Signed in as",
      transportLabel: "How messages go",
      keyLabel: "Platform key",
      keyShowAll: "Show the whole key",
      checking: "checking…",
      platformReachable: "reachable",
      platformNotReady: "reachable, but not ready ({detail})",
      platformUnreachableShort: "not reachable: check your connection",
      userUnchecked: "{email} (could not be checked)",
      keyUnknown: "could not be read",
      transportDirect: "Direct: sealed in Outlook, sent to the platform",
      transportHelper: "Through the Sealpost helper on this computer",
      helperHeading: "The Sealpost helper on this computer",
      helperExplain: "Where IT installed the Sealpost helper, Outlook seals messages through it, with your keys in this computer's keychain. Pair once; the pairing is kept.",
      helperPairButton: "Pair with the helper",
      helperPairing: "Pairing…",
      helperPaired: "Paired: messages go through the helper on this computer, signed in as {email}.",
      helperNotRunning: "The Sealpost helper does not answer on this computer: it may not be installed or running, or Outlook may not be allowed to reach it. Messages are sealed in Outlook instead.",
      helperPairingClosed: 'The helper is paired already. To pair again, run "sealpost-helper bridge --pair" on this computer, then press Pair within two minutes.',
      helperNotSignedIn: 'The helper on this computer is not signed in. Sign it in ("sealpost-helper sign-in"), then pair again.',
      helperOtherPlatform: "The helper on this computer is signed in to {platform}, not to {origin}: it cannot send for this Outlook.",
      signOutButton: "Sign out",
      unlockHeading: "This message's unlock code",
      unlockExplain: "Optional. Recipients must also enter this code before they can read the message. Tell it to them yourself, by phone, never in an email.",
      unlockCodeLabel: "Unlock code ({min} to {max} characters)",
      unlockSetButton: "Set the code",
      unlockRemoveButton: "Remove the code",
      unlockBadLength: "The unlock code must have {min} to {max} characters.",
      unlockSet: "Unlock code for this message: {code}. It applies when you send this message.",
      unlockNone: "No unlock code is set for this message.",
      unlockRemoved: "The unlock code was removed from this message.",
      unlockExpired: "The unlock code set for this message has expired (Sealpost keeps it for a day). Set it again, or remove it, before you send.",
      unlockNoMessage: "Open Sealpost from a message you are writing to set its unlock code.",
      unlockUnsupported: "This version of Outlook does not tell Sealpost which message is being written (that needs Mailbox 1.8), so no unlock code can be set here.",
      unlockOutlookError: "Outlook did not let Sealpost save the draft ({detail}), so the code is not set. Try again.",
      sendHeading: "Sending securely",
      sendNone: "No message has been sent securely from this Outlook yet.",
      sendReading: "Reading the message and its attachments…",
      sendUploading: "Uploading the encrypted message…",
      sendSent: "The last message was sent securely ({time}).",
      sendFailed: "The last message was not sent ({time}):",
      sendFailedAdvice: "The message is still open. Do what the message above says, then press Send again.",
      sendStalled: "The last secure send stopped without finishing ({time}). The message was not sent; press Send again."
    },
    de: {
      notSignedIn: "Sealpost: Bitte vor dem Senden anmelden. Öffnen Sie Sealpost, melden Sie sich an und klicken Sie erneut auf Senden. Die Nachricht wurde nicht gesendet.",
      platformUnreachable: "Sealpost hat {origin} nicht erreicht. Die Nachricht wurde nicht gesendet; prüfen Sie die Verbindung und klicken Sie erneut auf Senden.",
      platformError: "Sealpost konnte diese Nachricht nicht sicher senden: {detail} Die Nachricht wurde nicht gesendet.",
      sessionEnded: "Ihre Sealpost-Anmeldung ist abgelaufen. Öffnen Sie Sealpost, melden Sie sich erneut an und klicken Sie dann auf Senden. Die Nachricht wurde nicht gesendet.",
      timedOut: "Das sichere Senden hat zu lange gedauert und wurde abgebrochen. Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden oder öffnen Sie Sealpost, um den Grund zu sehen.",
      cloudAttachment: "„{name}“ ist ein Link auf eine Cloud-Datei, die Sealpost nicht verschlüsseln kann. Hängen Sie stattdessen eine Kopie der Datei an und klicken Sie erneut auf Senden.",
      attachmentUnreadable: "Sealpost konnte den Anhang „{name}“ nicht lesen. Die Nachricht wurde nicht gesendet; entfernen Sie den Anhang, hängen Sie ihn erneut an und klicken Sie auf Senden.",
      tooLarge: "Diese Nachricht ist zu groß, um sie aus Outlook sicher zu senden ({size}; die Grenze ist hier {limit}). Die Nachricht wurde nicht gesendet.",
      helperError: "Der Sealpost-Helfer auf diesem Computer meldet ein Problem: {detail} Die Nachricht wurde nicht gesendet.",
      outlookError: "Outlook hat Sealpost nicht erlaubt, {what}. Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden.",
      unexpected: "Sealpost hat das Senden angehalten, weil etwas Unerwartetes passiert ist ({detail}). Die Nachricht wurde nicht gesendet.",
      deliveredByPlatform: "Sicher gesendet: Sealpost hat jedem Empfänger einen persönlichen Link geschickt, daher sendet Outlook nichts. Sie können diesen Entwurf verwerfen; er enthält nur den Link.",
      unlockCodeExpired: "Der Freischaltcode, den Sie für diese Nachricht festgelegt haben, ist älter als einen Tag; Sealpost bewahrt ihn nicht länger auf. Die Nachricht wurde nicht gesendet: Öffnen Sie Sealpost, legen Sie den Code erneut fest (oder entfernen Sie ihn) und klicken Sie dann auf Senden.",
      unlockCodeDamaged: "Der Freischaltcode, den Sie für diese Nachricht festgelegt haben, konnte nicht gelesen werden. Die Nachricht wurde nicht gesendet: Öffnen Sie Sealpost, legen Sie den Code erneut fest (oder entfernen Sie ihn) und klicken Sie dann auf Senden.",
      secureOn: "Sicher senden ist eingeschaltet: Diese Nachricht wird verschlüsselt, Empfänger erhalten einen Link.",
      secureOff: "Sicher senden ist ausgeschaltet: Richtlinien können diese Nachricht beim Senden trotzdem schützen.",
      paneLoading: "Sealpost wird gestartet …",
      signInHeading: "Bei Sealpost anmelden",
      signInIntro: "Melden Sie sich einmal in diesem Outlook an, um Nachrichten sicher zu senden. Sie bleiben auf diesem Computer angemeldet, bis Sie sich abmelden.",
      emailLabel: "E-Mail-Adresse",
      passwordLabel: "Passwort",
      totpLabel: "Code aus Ihrer Authentifizierungs-App",
      signInButton: "Anmelden",
      signingIn: "Anmeldung läuft …",
      signInMissing: "Geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.",
      signInTotpNeeded: "Geben Sie den 6-stelligen Code aus Ihrer Authentifizierungs-App ein und melden Sie sich erneut an.",
      signInWrong: "E-Mail-Adresse oder Passwort ist falsch.",
      signInWrongCode: "E-Mail-Adresse, Passwort oder Code ist falsch. Jeder Code gilt nur einmal; warten Sie auf den nächsten.",
      signInLocked: "Zu viele fehlgeschlagene Anmeldungen: Dieses Konto ist gesperrt. Versuchen Sie es {when} erneut.",
      signInRateLimited: "Zu viele Anmeldeversuche aus diesem Netzwerk. Versuchen Sie es {when} erneut.",
      signInUnreachable: "Sealpost hat {origin} nicht erreicht. Prüfen Sie die Verbindung und melden Sie sich erneut an.",
      signInRefused: "Die Plattform hat die Anmeldung abgelehnt: {detail}",
      signedOut: "Abgemeldet. Die Anmeldung dieses Outlook wurde auf der Plattform beendet.",
      signedOutLocally: "In diesem Outlook abgemeldet, aber {origin} hat nicht bestätigt, dass die Anmeldung dort beendet wurde. Wenn dieser Computer nicht Ihnen gehört, bitten Sie die IT, das Gerät „{device}“ zu widerrufen.",
      sessionGone: "Ihre Sealpost-Anmeldung ist beendet (widerrufen oder abgelaufen). Melden Sie sich erneut an.",
      deviceOn: "Outlook für {platform}",
      deviceWeb: "Outlook im Web",
      statusHeading: "Sealpost in diesem Outlook",
      platformLabel: "Plattform",
      userLabel: "Angemeldet als",
      transportLabel: "Versandweg",
      keyLabel: "Plattformschlüssel",
      keyShowAll: "Ganzen Schlüssel zeigen",
      checking: "wird geprüft …",
      platformReachable: "erreichbar",
      platformNotReady: "erreichbar, aber nicht bereit ({detail})",
      platformUnreachableShort: "nicht erreichbar: Prüfen Sie die Verbindung",
      userUnchecked: "{email} (nicht geprüft)",
      keyUnknown: "nicht lesbar",
      transportDirect: "Direkt: in Outlook versiegelt, an die Plattform gesendet",
      transportHelper: "Über den Sealpost-Helfer auf diesem Computer",
      helperHeading: "Der Sealpost-Helfer auf diesem Computer",
      helperExplain: "Wo die IT den Sealpost-Helfer installiert hat, versiegelt Outlook Nachrichten über ihn, mit Ihren Schlüsseln im Schlüsselbund dieses Computers. Einmal koppeln; die Kopplung bleibt bestehen.",
      helperPairButton: "Mit dem Helfer koppeln",
      helperPairing: "Wird gekoppelt…",
      helperPaired: "Gekoppelt: Nachrichten gehen über den Helfer auf diesem Computer, angemeldet als {email}.",
      helperNotRunning: "Der Sealpost-Helfer antwortet auf diesem Computer nicht: Er ist vielleicht nicht installiert oder gestartet, oder Outlook darf ihn nicht erreichen. Nachrichten werden stattdessen in Outlook versiegelt.",
      helperPairingClosed: 'Der Helfer ist bereits gekoppelt. Um neu zu koppeln, führen Sie auf diesem Computer "sealpost-helper bridge --pair" aus und klicken Sie innerhalb von zwei Minuten auf Koppeln.',
      helperNotSignedIn: 'Der Helfer auf diesem Computer ist nicht angemeldet. Melden Sie ihn an ("sealpost-helper sign-in") und koppeln Sie dann erneut.',
      helperOtherPlatform: "Der Helfer auf diesem Computer ist bei {platform} angemeldet, nicht bei {origin}: Er kann für dieses Outlook nicht senden.",
      signOutButton: "Abmelden",
      unlockHeading: "Freischaltcode dieser Nachricht",
      unlockExplain: "Optional. Empfänger müssen diesen Code zusätzlich eingeben, bevor sie die Nachricht lesen können. Teilen Sie ihn selbst mit, per Telefon, nie per E-Mail.",
      unlockCodeLabel: "Freischaltcode ({min} bis {max} Zeichen)",
      unlockSetButton: "Code festlegen",
      unlockRemoveButton: "Code entfernen",
      unlockBadLength: "Der Freischaltcode muss {min} bis {max} Zeichen haben.",
      unlockSet: "Freischaltcode für diese Nachricht: {code}. Er gilt, wenn Sie diese Nachricht senden.",
      unlockNone: "Für diese Nachricht ist kein Freischaltcode festgelegt.",
      unlockRemoved: "Der Freischaltcode wurde von dieser Nachricht entfernt.",
      unlockExpired: "Der für diese Nachricht festgelegte Freischaltcode ist abgelaufen (Sealpost bewahrt ihn einen Tag auf). Legen Sie ihn erneut fest oder entfernen Sie ihn, bevor Sie senden.",
      unlockNoMessage: "Öffnen Sie Sealpost aus einer Nachricht, die Sie gerade schreiben, um ihren Freischaltcode festzulegen.",
      unlockUnsupported: "Diese Outlook-Version teilt Sealpost nicht mit, welche Nachricht gerade geschrieben wird (dafür ist Mailbox 1.8 nötig); daher kann hier kein Freischaltcode festgelegt werden.",
      unlockOutlookError: "Outlook hat Sealpost den Entwurf nicht speichern lassen ({detail}); der Code ist nicht festgelegt. Versuchen Sie es erneut.",
      sendHeading: "Sicher senden",
      sendNone: "Aus diesem Outlook wurde noch keine Nachricht sicher gesendet.",
      sendReading: "Die Nachricht und ihre Anhänge werden gelesen …",
      sendUploading: "Die verschlüsselte Nachricht wird hochgeladen …",
      sendSent: "Die letzte Nachricht wurde sicher gesendet ({time}).",
      sendFailed: "Die letzte Nachricht wurde nicht gesendet ({time}):",
      sendFailedAdvice: "Die Nachricht ist noch geöffnet. Tun Sie, was die Meldung oben sagt, und klicken Sie dann erneut auf Senden.",
      sendStalled: "Das letzte sichere Senden wurde nicht abgeschlossen ({time}). Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden."
    }
  };
  function languageOf(tag) {
    return String(tag || "").toLowerCase().startsWith("de") ? "de" : "en";
  }
  function currentLanguage() {
    const office = globalObject.Office;
    const tag = office && office.context && office.context.displayLanguage || globalObject.navigator && globalObject.navigator.language;
    return languageOf(tag);
  }
  function t(key, params = {}, lang = currentLanguage()) {
    const template = STRINGS[lang] && STRINGS[lang][key] || STRINGS.en[key];
    if (!template) throw new Error(`no string ${key}`);
    return template.replace(/\{(\w+)\}/g, (_, name) => name in params ? String(params[name]) : `{${name}}`);
  }
  var STRING_KEYS = { en: Object.keys(STRINGS.en), de: Object.keys(STRINGS.de) };

  // src/parts.js
  var TYPES = {
    pdf: "application/pdf",
    zip: "application/zip",
    txt: "text/plain",
    csv: "text/csv",
    htm: "text/html",
    html: "text/html",
    xml: "application/xml",
    json: "application/json",
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    svg: "image/svg+xml",
    bmp: "image/bmp",
    ics: "text/calendar",
    eml: "message/rfc822",
    doc: "application/msword",
    xls: "application/vnd.ms-excel",
    ppt: "application/vnd.ms-powerpoint",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation"
  };
  function contentTypeOf(name) {
    const ext = String(name).toLowerCase().split(".").pop();
    return TYPES[ext] || "application/octet-stream";
  }
  function referencedContentIds(html) {
    const ids = [];
    const re = /\bsrc\s*=\s*["']?cid:([^"'\s>]+)/gi;
    let m;
    while (m = re.exec(html)) ids.push(decodeURIComponent(m[1]));
    return ids;
  }
  function contentIdFor(a, ids) {
    const name = String(a.name || "");
    return ids.find((id) => id === name || id.startsWith(`${name}@`) || id === a.id) || null;
  }

  // src/send.js
  var TASKPANE_COMMAND = "sealpostTaskpane";
  var DEADLINE_SECONDS = 240;
  var CLASSIFY_BODY_BYTES = (4 << 20) + 1;
  var SendStopped = class extends Error {
    constructor(key, params = {}) {
      super(key);
      this.name = "SendStopped";
      this.key = key;
      this.params = params;
    }
  };
  function onMessageSend(event, deps) {
    return __async(this, null, function* () {
      const controller = abortable();
      let timer;
      const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new SendStopped("timedOut"));
        }, (deps.deadlineSeconds || DEADLINE_SECONDS) * 1e3);
      });
      let outcome;
      try {
        const result = yield Promise.race([secureIfNeeded(deps, controller.signal), deadline]);
        outcome = result === DELIVERED_BY_PLATFORM ? { allowEvent: false, errorMessage: t("deliveredByPlatform", {}, deps.lang) } : { allowEvent: true };
      } catch (e) {
        controller.abort();
        const errorMessage = explain(e, deps.lang);
        outcome = { allowEvent: false, errorMessage, commandId: TASKPANE_COMMAND };
        yield noteQuietly(deps.session, { phase: "failed", error: errorMessage });
      } finally {
        clearTimeout(timer);
      }
      yield Promise.resolve(deps.session && deps.session.forgetStaleUnlockCodes()).catch(() => {
      });
      event.completed(outcome);
      return outcome;
    });
  }
  var DELIVERED_BY_PLATFORM = "delivered-by-platform";
  function secureIfNeeded(_0, _1) {
    return __async(this, arguments, function* ({ item: item2, session, transport: transportFor2 }, signal) {
      const transport = yield transportFor2();
      const message = yield readMessage(item2);
      const toggle = yield secureRequested(item2);
      const decision = yield transport.classify(candidateOf(message), toggle ? true : null);
      if (!decision.secure) return;
      yield session.setStatus({ phase: "reading", transport: transport.name });
      const draft = canNameDraft(item2, requirements()) ? yield savedDraftId(item2) : null;
      const unlockCode = draft ? yield draftUnlockCode(session, draft) : null;
      const attachments = yield readAttachments(item2, message);
      yield session.setStatus({ phase: "uploading", done: 0, total: 0, transport: transport.name });
      const sent = yield transport.send(
        { to: message.to, cc: message.cc, bcc: message.bcc, subject: message.subject, text: message.text, html: message.html, attachments },
        {
          signal,
          unlockCode,
          onProgress: (done, total) => noteQuietly(session, { phase: "uploading", done, total, transport: transport.name })
        }
      );
      const original = {
        bodyType: message.bodyType,
        body: message.bodyType === "html" ? message.html : message.text,
        subject: message.subject,
        attachments: message.attachments.map((a, i) => Object.assign({}, a, { bytes: attachments[i].bytes }))
      };
      try {
        if (signal.aborted) throw new SendStopped("timedOut");
        yield replaceWithStub(item2, { messageId: sent.id, stub: sent.stub, original });
      } catch (e) {
        yield transport.recall(sent.id).catch(() => {
        });
        throw e;
      }
      if (draft && unlockCode) yield session.forgetUnlockCode(draft).catch(() => {
      });
      yield session.setStatus({ phase: "sent", messageId: sent.id, transport: transport.name, unlockCode: Boolean(unlockCode) });
      return sent.notifiedByPlatform ? DELIVERED_BY_PLATFORM : "send";
    });
  }
  function draftUnlockCode(session, draft) {
    return __async(this, null, function* () {
      try {
        return yield session.unlockCode(draft);
      } catch (e) {
        if (e instanceof UnlockCodeUnusable) {
          throw new SendStopped(e.reason === "expired" ? "unlockCodeExpired" : "unlockCodeDamaged");
        }
        throw e;
      }
    });
  }
  function requirements() {
    const office = globalObject.Office;
    return office && office.context && office.context.requirements;
  }
  function candidateOf(message) {
    return {
      recipients: [...message.to, ...message.cc, ...message.bcc],
      subject: message.subject,
      text: truncateUtf8(message.text, CLASSIFY_BODY_BYTES),
      html: message.html == null ? null : truncateUtf8(message.html, CLASSIFY_BODY_BYTES),
      attachments: message.attachments.length
    };
  }
  function truncateUtf8(text, bytes) {
    const encoded = new TextEncoder().encode(text);
    return encoded.length <= bytes ? text : new TextDecoder().decode(encoded.subarray(0, bytes));
  }
  function readAttachments(item2, message) {
    return __async(this, null, function* () {
      const cids = referencedContentIds(message.html || "");
      const out = [];
      for (const a of message.attachments) {
        const bytes = yield attachmentBytes(item2, a);
        out.push({
          name: a.name,
          contentType: a.contentType || contentTypeOf(a.name),
          contentId: a.isInline ? contentIdFor(a, cids) : null,
          bytes
        });
      }
      return out;
    });
  }
  function explain(e, lang) {
    if (e instanceof SendStopped) return t(e.key, e.params, lang);
    if (e instanceof CloudAttachmentError) return t("cloudAttachment", { name: e.attachment }, lang);
    if (e instanceof OfficeError) return t("outlookError", { what: e.message }, lang);
    if (e instanceof BridgeError) return t("helperError", { detail: sentence(e.message) }, lang);
    if (e instanceof ApiError) {
      switch (e.kind) {
        case ApiFailure.Unreachable:
          return t("platformUnreachable", { origin: e.origin || "Sealpost" }, lang);
        case ApiFailure.TimedOut:
          return t("timedOut", {}, lang);
        case ApiFailure.SignedOut:
          return t("sessionEnded", {}, lang);
        default:
          return t("platformError", { detail: sentence(e.message) }, lang);
      }
    }
    return t("unexpected", { detail: e && e.message || String(e) }, lang);
  }
  function sentence(text) {
    const s = String(text || "").trim();
    return /[.!?]$/.test(s) ? s : `${s}.`;
  }
  function noteQuietly(session, status) {
    return __async(this, null, function* () {
      try {
        yield session.setStatus(status);
      } catch (e) {
      }
    });
  }

  // src/toggle.js
  var NOTICE_KEY = "sealpostSecure";
  function toggleSecure(item2, lang) {
    return __async(this, null, function* () {
      const on = !(yield secureRequested(item2));
      yield setSecureRequested(item2, on);
      yield showState(item2, on, lang);
      return on;
    });
  }
  function showState(item2, on, lang) {
    return __async(this, null, function* () {
      yield call("show the state", item2.notificationMessages, "replaceAsync", NOTICE_KEY, {
        type: "informationalMessage",
        message: t(on ? "secureOn" : "secureOff", {}, lang),
        icon: "Icon.16",
        persistent: true
      });
    });
  }

  // src/envelope/errors.js
  var EnvelopeError = class extends Error {
    /** `code`: a stable error code; `message`: what went wrong, for a developer's log. */
    constructor(code, message) {
      super(message);
      this.name = "EnvelopeError";
      this.code = code;
    }
  };
  function usageError(message) {
    return new EnvelopeError("usage", message);
  }

  // src/envelope/bytes.js
  var TWO_POW_32 = 4294967296;
  function subtle() {
    const crypto = globalObject.crypto;
    if (!crypto || !crypto.subtle) {
      throw new EnvelopeError(
        "usage",
        "WebCrypto is not available here (a browser offers it only on https:// or localhost pages)"
      );
    }
    return crypto.subtle;
  }
  function utf8(text) {
    return new TextEncoder().encode(text);
  }
  function toHex(bytes) {
    let out = "";
    for (const b of bytes) {
      out += (b < 16 ? "0" : "") + b.toString(16);
    }
    return out;
  }
  function fromHex(hex, what) {
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw usageError(`${what} is not hex`);
    }
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
    return out;
  }
  function setUint64(view, offset, value) {
    view.setUint32(offset, Math.floor(value / TWO_POW_32));
    view.setUint32(offset + 4, value % TWO_POW_32);
  }
  function isLength(value) {
    return Number.isSafeInteger(value) && value >= 0;
  }

  // src/envelope/format.js
  var MAGIC = "SEALPOST";
  var VERSION = 1;
  var DEFAULT_CHUNK_SIZE = 65536;
  var MIN_CHUNK_SIZE = 64;
  var MAX_CHUNK_SIZE = 4194304;
  var TAG_LEN = 16;
  var MAC_LEN = 32;
  var SALT_LEN = 16;
  var FILE_KEY_LEN = 32;
  var MESSAGE_ID_LEN = 16;
  var KEY_ID_LEN = 32;
  var MIN_WRAPPED_LEN = 384;
  var MAX_WRAPPED_LEN = 1024;
  var MAX_COUNT = 65535;
  var ALG_RSA_OAEP_SHA256 = 1;
  var STANZA_ROLES = { platform: 1, recipient: 2, sender: 3, compliance: 4 };
  var PART_KIND_MANIFEST = 0;
  var PART_KIND_ATTACHMENT = 1;
  var FIXED_PREFIX_LEN = 8 + 1 + 1 + 4 + MESSAGE_ID_LEN + 4 + 2;
  var STANZA_FIXED_LEN = 1 + 1 + KEY_ID_LEN + 2;
  var PART_ENTRY_LEN = 1 + 8 + SALT_LEN;
  function checkChunkSize(chunkSize) {
    const ok = Number.isInteger(chunkSize) && chunkSize >= MIN_CHUNK_SIZE && chunkSize <= MAX_CHUNK_SIZE && (chunkSize & chunkSize - 1) === 0;
    if (!ok) {
      throw usageError(`chunk size ${chunkSize} is not a power of two from 64 to 4194304 bytes`);
    }
  }
  function chunkCount(len, chunkSize) {
    return Math.max(1, Math.ceil(len / chunkSize));
  }
  function partCiphertextLength(len, chunkSize) {
    return len + TAG_LEN * chunkCount(len, chunkSize);
  }
  function headerLength(wrappedLengths, partCount) {
    let len = FIXED_PREFIX_LEN + 2 + PART_ENTRY_LEN * partCount + MAC_LEN;
    for (const wrapped of wrappedLengths) {
      len += STANZA_FIXED_LEN + wrapped;
    }
    return len;
  }
  function envelopeLength(wrappedLengths, partLengths, chunkSize) {
    checkChunkSize(chunkSize);
    checkCount("key stanzas", wrappedLengths.length);
    checkCount("parts (the manifest and the attachments)", partLengths.length);
    for (const wrapped of wrappedLengths) {
      if (!Number.isInteger(wrapped) || wrapped < MIN_WRAPPED_LEN || wrapped > MAX_WRAPPED_LEN) {
        throw usageError(`a wrapped key of ${wrapped} bytes is not that of an RSA-3072..8192 key`);
      }
    }
    let total = headerLength(wrappedLengths, partLengths.length);
    for (const len of partLengths) {
      if (!isLength(len)) {
        throw usageError(`part length ${len} is not a whole number of bytes`);
      }
      total += partCiphertextLength(len, chunkSize);
    }
    if (!Number.isSafeInteger(total)) {
      throw usageError("the envelope would be larger than 2^53 bytes");
    }
    return total;
  }
  function checkCount(what, count) {
    if (count < 1 || count > MAX_COUNT) {
      throw usageError(`an envelope holds 1 to ${MAX_COUNT} ${what}, not ${count}`);
    }
  }
  function encodeHeader({ messageId, chunkSize, stanzas, parts }) {
    const length = headerLength(stanzas.map((s) => s.wrapped.length), parts.length);
    const bytes = new Uint8Array(length);
    const view = new DataView(bytes.buffer);
    let at = 0;
    const put = (source) => {
      bytes.set(source, at);
      at += source.length;
    };
    put(Array.from(MAGIC, (c) => c.charCodeAt(0)));
    put([VERSION, 0]);
    view.setUint32(at, length);
    at += 4;
    put(messageId);
    view.setUint32(at, chunkSize);
    view.setUint16(at + 4, stanzas.length);
    at += 6;
    for (const stanza of stanzas) {
      put([STANZA_ROLES[stanza.role], ALG_RSA_OAEP_SHA256]);
      put(stanza.keyId);
      view.setUint16(at, stanza.wrapped.length);
      at += 2;
      put(stanza.wrapped);
    }
    view.setUint16(at, parts.length);
    at += 2;
    parts.forEach((part, index) => {
      put([index === 0 ? PART_KIND_MANIFEST : PART_KIND_ATTACHMENT]);
      setUint64(view, at, part.len);
      at += 8;
      put(part.salt);
    });
    return bytes;
  }

  // src/envelope/keys.js
  var MIN_RSA_BITS = 3072;
  var MAX_RSA_BITS = 8192;
  var OAEP_LABEL = "sealpost file key";
  var RSA_OAEP_SHA256 = { name: "RSA-OAEP", hash: "SHA-256" };
  var PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/;
  function importRecipientKey(publicKeyPem) {
    return __async(this, null, function* () {
      const der = spkiDerFromPem(publicKeyPem);
      let cryptoKey;
      try {
        cryptoKey = yield subtle().importKey("spki", der, RSA_OAEP_SHA256, true, ["encrypt"]);
      } catch (e) {
        throw badKey(`not an RSA SubjectPublicKeyInfo PEM (${e.message})`);
      }
      const wrappedLength = Math.ceil(cryptoKey.algorithm.modulusLength / 8);
      const bits = wrappedLength * 8;
      if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
        throw badKey(`RSA key has ${bits} bits; Sealpost needs ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`);
      }
      const keyId = yield keyIdOfKey(cryptoKey);
      return { cryptoKey, keyId, wrappedLength };
    });
  }
  function wrapFileKey(cryptoKey, fileKey) {
    return __async(this, null, function* () {
      const wrapped = yield subtle().encrypt(
        { name: "RSA-OAEP", label: utf8(OAEP_LABEL) },
        cryptoKey,
        fileKey
      );
      return new Uint8Array(wrapped);
    });
  }
  function keyIdOfKey(cryptoKey) {
    return __async(this, null, function* () {
      const spki = yield subtle().exportKey("spki", cryptoKey);
      return new Uint8Array(yield subtle().digest("SHA-256", spki));
    });
  }
  function spkiDerFromPem(pem) {
    const block = typeof pem === "string" ? PEM_BLOCK.exec(pem) : null;
    if (!block) {
      throw badKey('a public key must be a PEM block ("-----BEGIN PUBLIC KEY-----")');
    }
    if (block[1] !== "PUBLIC KEY") {
      throw badKey(`expected a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM, found "${block[1]}"`);
    }
    try {
      return decodeBase64(block[2]);
    } catch (e) {
      throw badKey("the PEM's base64 is damaged");
    }
  }
  function badKey(message) {
    return new EnvelopeError("bad_key", `key rejected: ${message}`);
  }

  // src/envelope/manifest.js
  var MANIFEST_VERSION = 1;
  var SHA256_HEX = /^[0-9a-f]{64}$/;
  var SURROGATE = /[\ud800-\udfff]/;
  function buildManifest({
    from,
    to = [],
    cc = [],
    subject = "",
    date,
    messageId,
    headers = [],
    text,
    html,
    attachments = []
  }) {
    const manifest = {
      version: MANIFEST_VERSION,
      metadata: withoutAbsent({
        from: requireString("from", from),
        to: stringList("to", to),
        cc: stringList("cc", cc),
        subject: requireString("subject", subject),
        date: requireString("date (RFC 3339, like 2026-11-22T10:00:00Z)", date),
        message_id: optionalString("messageId", messageId),
        headers: headerPairs(headers)
      }),
      body: withoutAbsent({
        text: optionalString("text", text),
        html: optionalString("html", html)
      }),
      attachments: listOf("attachments", attachments).map(attachmentEntry)
    };
    return utf8(JSON.stringify(manifest));
  }
  function attachmentEntry(attachment, index) {
    const what = `attachments[${index}]`;
    const { name, contentType, size, contentId, sha256 } = attachment || {};
    if (!isLength(size)) {
      throw badManifest(`${what}.size must be the attachment's length in bytes`);
    }
    if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
      throw badManifest(`${what}.sha256 must be 64 lowercase hex digits`);
    }
    return withoutAbsent({
      part: index + 1,
      name: requireString(`${what}.name`, name),
      content_type: requireString(`${what}.contentType`, contentType),
      size,
      content_id: optionalString(`${what}.contentId`, contentId),
      sha256
    });
  }
  function headerPairs(headers) {
    return listOf("headers", headers).map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw badManifest(`headers[${i}] must be a [name, value] pair`);
      }
      return [requireString(`headers[${i}][0]`, pair[0]), requireString(`headers[${i}][1]`, pair[1])];
    });
  }
  function stringList(what, list) {
    return listOf(what, list).map((s, i) => requireString(`${what}[${i}]`, s));
  }
  function listOf(what, list) {
    if (!Array.isArray(list)) {
      throw badManifest(`${what} must be a list`);
    }
    return list;
  }
  function requireString(what, value) {
    if (typeof value !== "string") {
      throw badManifest(`${what} must be a string`);
    }
    return wellFormed(value);
  }
  function optionalString(what, value) {
    return value == null ? void 0 : requireString(what, value);
  }
  function withoutAbsent(object) {
    const out = {};
    for (const key of Object.keys(object)) {
      if (object[key] !== void 0) {
        out[key] = object[key];
      }
    }
    return out;
  }
  function wellFormed(text) {
    if (!SURROGATE.test(text)) {
      return text;
    }
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const high = unit >= 55296 && unit <= 56319;
      const next = text.charCodeAt(i + 1);
      if (high && next >= 56320 && next <= 57343) {
        out += text[i] + text[i + 1];
        i++;
      } else {
        out += unit >= 55296 && unit <= 57343 ? "�" : text[i];
      }
    }
    return out;
  }
  function badManifest(message) {
    return new EnvelopeError("bad_manifest", `manifest is invalid: ${message}`);
  }

  // src/settle.js
  function allSettled(promises) {
    return Promise.all(Array.from(promises, (promise) => Promise.resolve(promise).then(
      (value) => ({ status: "fulfilled", value }),
      (reason) => ({ status: "rejected", reason })
    )));
  }

  // src/envelope/stream.js
  var HEADER_MAC_INFO = "sealpost header mac";
  var PART_KEY_INFO = "sealpost part";
  var NONCE_LEN = 12;
  function importFileKey(fileKey) {
    return subtle().importKey("raw", fileKey, "HKDF", false, ["deriveKey"]);
  }
  function deriveHeaderMacKey(fileKey) {
    return subtle().deriveKey(
      hkdf(new Uint8Array(0), utf8(HEADER_MAC_INFO)),
      fileKey,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"]
    );
  }
  function derivePartKey(fileKey, salt, index) {
    const label = utf8(PART_KEY_INFO);
    const info = new Uint8Array(label.length + 4);
    info.set(label);
    new DataView(info.buffer).setUint32(label.length, index);
    return subtle().deriveKey(
      hkdf(salt, info),
      fileKey,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt"]
    );
  }
  function hmac(macKey, bytes) {
    return __async(this, null, function* () {
      return new Uint8Array(yield subtle().sign("HMAC", macKey, bytes));
    });
  }
  function chunkNonce(index, last) {
    const nonce = new Uint8Array(NONCE_LEN);
    setUint64(new DataView(nonce.buffer), 3, index);
    nonce[11] = last ? 1 : 0;
    return nonce;
  }
  var CHUNKS_AHEAD = 12;
  function sealPart(partKey, plaintext, chunkSize) {
    return __asyncGenerator(this, null, function* () {
      const chunks = chunkCount(plaintext.length, chunkSize);
      const seal = (index) => subtle().encrypt(
        { name: "AES-GCM", iv: chunkNonce(index, index === chunks - 1), tagLength: 128 },
        partKey,
        plaintext.subarray(index * chunkSize, (index + 1) * chunkSize)
      );
      const inFlight = [];
      let next = 0;
      try {
        for (let index = 0; index < chunks; index++) {
          while (next < chunks && next <= index + CHUNKS_AHEAD) {
            const sealing = seal(next++);
            sealing.catch(() => {
            });
            inFlight.push(sealing);
          }
          yield new Uint8Array(yield new __await(inFlight.shift()));
        }
      } finally {
        yield new __await(allSettled(inFlight));
      }
    });
  }
  function hkdf(salt, info) {
    return { name: "HKDF", hash: "SHA-256", salt, info };
  }

  // src/envelope.js
  var OAEP_SEED_LEN = 32;
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var HEX_128 = /^[0-9a-f]{32}$/i;
  var ASYNC_ITERATOR = Symbol.asyncIterator || /* @__PURE__ */ Symbol.for("Symbol.asyncIterator");
  function sha256Hex(bytes) {
    return __async(this, null, function* () {
      if (!(bytes instanceof Uint8Array)) {
        throw usageError("sha256Hex takes a Uint8Array");
      }
      return toHex(new Uint8Array(yield subtle().digest("SHA-256", bytes)));
    });
  }
  function sealEnvelope(_0) {
    return __async(this, arguments, function* ({
      messageId,
      manifest,
      attachments = [],
      keys,
      chunkSize = DEFAULT_CHUNK_SIZE,
      random = systemRandom
    }) {
      checkChunkSize(chunkSize);
      const id = messageIdBytes(messageId);
      const parts = partPlaintexts(manifest, attachments);
      const recipients2 = yield importStanzaKeys(keys);
      const size = envelopeLength(
        recipients2.map((r) => r.wrappedLength),
        parts.map((p) => p.length),
        chunkSize
      );
      const draw = randomSource(random);
      const fileKeyBytes = draw(FILE_KEY_LEN);
      recipients2.forEach(() => draw(OAEP_SEED_LEN));
      const salts = parts.map(() => draw(SALT_LEN));
      let stanzas;
      let fileKey;
      try {
        stanzas = yield Promise.all(recipients2.map((r) => stanzaFor(r, fileKeyBytes)));
        fileKey = yield importFileKey(fileKeyBytes);
      } finally {
        fileKeyBytes.fill(0);
      }
      const header = yield macedHeader(fileKey, {
        messageId: id,
        chunkSize,
        stanzas,
        parts: parts.map((p, i) => ({ len: p.length, salt: salts[i] }))
      });
      return {
        envelopeSize: size,
        keyIds: recipients2.map((r) => toHex(r.keyId)),
        pieces: readOnce(() => envelopePieces(header, fileKey, parts, salts, chunkSize))
      };
    });
  }
  function envelopePieces(header, fileKey, parts, salts, chunkSize) {
    return __asyncGenerator(this, null, function* () {
      const declared = parts.map((p) => p.length);
      yield header;
      for (let index = 0; index < parts.length; index++) {
        if (parts[index].length !== declared[index]) {
          throw new EnvelopeError(
            "part_length_mismatch",
            `part ${index} was declared as ${declared[index]} bytes but holds ${parts[index].length}`
          );
        }
        const partKey = yield new __await(derivePartKey(fileKey, salts[index], index));
        yield* __yieldStar(sealPart(partKey, parts[index], chunkSize));
      }
    });
  }
  function macedHeader(fileKey, fields) {
    return __async(this, null, function* () {
      const header = encodeHeader(fields);
      const macAt = header.length - MAC_LEN;
      const mac = yield hmac(yield deriveHeaderMacKey(fileKey), header.subarray(0, macAt));
      header.set(mac, macAt);
      return header;
    });
  }
  function stanzaFor(recipient, fileKeyBytes) {
    return __async(this, null, function* () {
      const wrapped = yield wrapFileKey(recipient.cryptoKey, fileKeyBytes);
      if (wrapped.length !== recipient.wrappedLength) {
        throw new EnvelopeError("bad_key", "RSA-OAEP gave a wrapped key of an unexpected length");
      }
      return { role: recipient.role, keyId: recipient.keyId, wrapped };
    });
  }
  function importStanzaKeys(keys) {
    return __async(this, null, function* () {
      if (!Array.isArray(keys) || !keys.some((k) => k && k.role === "platform")) {
        throw usageError(`an envelope needs the platform's key (a key with role "platform")`);
      }
      const recipients2 = yield Promise.all(keys.map((key, i) => __async(null, null, function* () {
        const { role, publicKeyPem } = key || {};
        if (!Object.prototype.hasOwnProperty.call(STANZA_ROLES, role)) {
          throw usageError(
            `keys[${i}].role "${role}" is not one of ${Object.keys(STANZA_ROLES).join(", ")}`
          );
        }
        return Object.assign({ role }, yield importRecipientKey(publicKeyPem));
      })));
      recipients2.forEach((r, i) => {
        const first = recipients2.findIndex((other) => toHex(other.keyId) === toHex(r.keyId));
        if (first !== i) {
          throw usageError(
            `keys[${first}] (${recipients2[first].role}) and keys[${i}] (${r.role}) are the same key; give each key once`
          );
        }
      });
      return recipients2;
    });
  }
  function partPlaintexts(manifest, attachments) {
    if (!(manifest instanceof Uint8Array)) {
      throw usageError("manifest must be a Uint8Array (buildManifest's result)");
    }
    if (!Array.isArray(attachments)) {
      throw usageError("attachments must be a list of Uint8Array");
    }
    attachments.forEach((a, i) => {
      if (!(a instanceof Uint8Array)) {
        throw usageError(`attachments[${i}] must be a Uint8Array`);
      }
    });
    return [manifest, ...attachments];
  }
  function messageIdBytes(messageId) {
    if (messageId instanceof Uint8Array && messageId.length === MESSAGE_ID_LEN) {
      return new Uint8Array(messageId);
    }
    if (typeof messageId === "string") {
      const compact = UUID.test(messageId) ? messageId.replace(/-/g, "") : messageId;
      if (HEX_128.test(compact)) {
        return fromHex(compact, "messageId");
      }
    }
    throw usageError("messageId must be 16 bytes or a UUID string");
  }
  function randomSource(random) {
    if (typeof random !== "function") {
      throw usageError("random must be a function (n) => Uint8Array");
    }
    return (n) => {
      const bytes = random(n);
      if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
        throw new EnvelopeError("random", `the random source did not give ${n} bytes`);
      }
      return new Uint8Array(bytes);
    };
  }
  function systemRandom(n) {
    return globalObject.crypto.getRandomValues(new Uint8Array(n));
  }
  function readOnce(generate) {
    let taken = false;
    return {
      [ASYNC_ITERATOR]() {
        if (taken) {
          throw usageError("an envelope's pieces can be read only once; seal the message again");
        }
        taken = true;
        return generate();
      }
    };
  }

  // src/transport/direct.js
  var SEGMENT_BYTES = 2 << 20;
  var UPLOAD_RETRIES = 3;
  var LOOKUP_BATCH = 100;
  var DirectTransport = class {
    /** @param {import("../api.js").Platform} platform signed in */
    constructor(platform, { email }) {
      this.platform = platform;
      this.email = email;
      this.name = "direct";
    }
    classify(candidate, toggle) {
      return this.platform.classify(candidate, toggle);
    }
    /**
     * Seals and uploads `message` ({to, cc, bcc, subject, text, html, attachments: [{name,
     * contentType, contentId, bytes}]}) and finalises it, with `unlockCode` set first if given.
     * Resolves with `{id, link, stub, notifiedByPlatform}`.
     */
    send(_0) {
      return __async(this, arguments, function* (message, { onProgress = () => {
      }, signal, unlockCode = null } = {}) {
        const [keys, hashes] = yield Promise.all([
          this.keysFor([...message.to, ...message.cc]),
          Promise.all(message.attachments.map((a) => sha256Hex(a.bytes)))
        ]);
        const described = message.attachments.map((a, i) => ({
          name: a.name,
          contentType: a.contentType,
          size: a.bytes.length,
          contentId: a.contentId || null,
          sha256: hashes[i]
        }));
        const manifest = buildManifest({
          from: this.email,
          to: message.to,
          cc: message.cc,
          subject: message.subject,
          date: (/* @__PURE__ */ new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
          headers: [],
          text: message.text,
          html: message.html,
          attachments: described
        });
        const id = randomUuid();
        const sealed = yield sealEnvelope({
          messageId: id,
          manifest,
          attachments: message.attachments.map((a) => a.bytes),
          keys
        });
        const outgoing = readAhead(segments(sealed.pieces, SEGMENT_BYTES));
        try {
          yield this.platform.createMessage({
            id,
            to: message.to,
            cc: message.cc,
            bcc: message.bcc,
            subject: message.subject,
            envelope_size: sealed.envelopeSize,
            expires_at: null
          });
          if (unlockCode) yield this.platform.setUnlockCode(id, unlockCode);
          yield this.upload(id, outgoing, sealed.envelopeSize, onProgress, signal);
        } finally {
          outgoing.abandon();
        }
        const done = yield this.platform.finalise(id);
        return { id, link: done.link, stub: done.stub, notifiedByPlatform: !!done.notified_by_platform };
      });
    }
    /** Makes a sealed message unreadable (it was never announced to anyone). */
    recall(id) {
      return this.platform.recall(id);
    }
    /** The platform's key, each recipient's registered key, and the compliance key if any. */
    keysFor(addresses) {
      return __async(this, null, function* () {
        const platformKey = yield this.platform.platformKey();
        const keys = [{ role: "platform", publicKeyPem: platformKey.public_key_pem }];
        let compliance = null;
        const unique = [...new Set(addresses)];
        for (let i = 0; i < unique.length; i += LOOKUP_BATCH) {
          const found = yield this.platform.lookupKeys(unique.slice(i, i + LOOKUP_BATCH));
          for (const k of found.keys || []) keys.push({ role: "recipient", publicKeyPem: k.public_key_pem });
          compliance = compliance || found.compliance;
        }
        if (compliance) keys.push({ role: "compliance", publicKeyPem: compliance.public_key_pem });
        return keys;
      });
    }
    /** Uploads the sealed segments (read ahead, so the next is sealed while one is on its way);
     * a failed request is retried from where the platform says it stands, so nothing is sent
     * twice and nothing is skipped. */
    upload(id, outgoing, total, onProgress, signal) {
      return __async(this, null, function* () {
        let offset = 0;
        for (let next = yield outgoing.next(); !next.done; next = yield outgoing.next()) {
          const end = offset + next.value.length;
          yield this.uploadSegment(id, offset, end, next.value, signal);
          offset = end;
          onProgress(offset, total);
        }
        if (offset !== total) throw new Error(`sealed ${offset} bytes, announced ${total}`);
      });
    }
    uploadSegment(id, offset, end, segment, signal) {
      return __async(this, null, function* () {
        for (let attempt = 0; ; attempt++) {
          try {
            yield this.platform.upload(id, offset, segment, signal);
            return;
          } catch (e) {
            if (!retryable(e) || attempt >= UPLOAD_RETRIES || signal && signal.aborted) throw e;
            const at = yield this.platform.uploadOffset(id);
            if (at.received === end) return;
            if (at.received !== offset) throw e;
          }
        }
      });
    }
  };
  function retryable(e) {
    return e instanceof ApiError && (e.kind === ApiFailure.Unreachable || e.kind === ApiFailure.TimedOut || e.status >= 500);
  }
  function readAhead(iterator) {
    let ahead = iterator.next();
    return {
      next() {
        return __async(this, null, function* () {
          const item2 = yield ahead;
          if (!item2.done) ahead = iterator.next();
          return item2;
        });
      },
      abandon() {
        ahead.then(() => iterator.return && iterator.return(), () => {
        }).catch(() => {
        });
      }
    };
  }
  function segments(pieces, size) {
    return __asyncGenerator(this, null, function* () {
      let buf = new Uint8Array(size);
      let used = 0;
      try {
        for (var iter = __forAwait(pieces), more, temp, error; more = !(temp = yield new __await(iter.next())).done; more = false) {
          const piece = temp.value;
          let from = 0;
          while (from < piece.length) {
            const n = Math.min(size - used, piece.length - from);
            buf.set(piece.subarray(from, from + n), used);
            used += n;
            from += n;
            if (used === size) {
              yield buf;
              buf = new Uint8Array(size);
              used = 0;
            }
          }
        }
      } catch (temp) {
        error = [temp];
      } finally {
        try {
          more && (temp = iter.return) && (yield new __await(temp.call(iter)));
        } finally {
          if (error)
            throw error[0];
        }
      }
      if (used > 0) yield buf.subarray(0, used);
    });
  }
  function randomUuid() {
    const b = globalObject.crypto.getRandomValues(new Uint8Array(16));
    b[6] = b[6] & 15 | 64;
    b[8] = b[8] & 63 | 128;
    const h = toHex(b);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // src/transport/index.js
  function transportFor(_0) {
    return __async(this, arguments, function* (session, fetchImpl = globalObject.fetch) {
      const s = yield session.load();
      if (s && s.bridge) {
        const helper = new BridgeTransport(s.bridge, fetchImpl);
        const hello = yield helper.hello().catch(() => null);
        if (hello && hello.signed_in) return helper;
      }
      if (!s || !s.token) throw new SendStopped("notSignedIn");
      return new DirectTransport(new Platform(s.origin, s.token, fetchImpl), { email: s.email });
    });
  }

  // src/commands/commands.js
  function item() {
    return Office.context.mailbox.item;
  }
  function handleSend(event) {
    return __async(this, null, function* () {
      const session = new Session();
      yield onMessageSend(event, {
        item: item(),
        session,
        transport: () => transportFor(session),
        lang: currentLanguage()
      });
    });
  }
  function handleToggle(event) {
    return __async(this, null, function* () {
      try {
        yield toggleSecure(item(), currentLanguage());
      } finally {
        event.completed();
      }
    });
  }
  function blocking(handler) {
    return (event) => {
      handler(event).catch((e) => {
        try {
          event.completed({ allowEvent: false, errorMessage: `Sealpost: ${e && e.message || e}` });
        } catch (e2) {
        }
      });
    };
  }
  Office.actions.associate("onMessageSend", blocking(handleSend));
  Office.actions.associate("toggleSecure", (event) => {
    handleToggle(event).catch(() => {
    });
  });
})();
