/**
 * The platform's HTTPS API (docs/api.md) as the add-in uses it: sign-in, health, policy, keys
 * and the resumable upload. Every request has a deadline, and every failure becomes an
 * `ApiError` whose `kind` the send handler and the task pane turn into a message a person can
 * act on.
 */

import { abortable } from "./abort.js";
import { globalObject } from "./global.js";

/** Why a request failed. */
export const ApiFailure = Object.freeze({
  /** No answer: network down, DNS, TLS, refused connection. */
  Unreachable: "unreachable",
  /** The deadline passed before an answer. */
  TimedOut: "timed_out",
  /** 401: the device token is unknown, revoked or expired. */
  SignedOut: "signed_out",
  /** Any other error answer; `code` and `message` are the platform's. */
  Refused: "refused",
});

export class ApiError extends Error {
  constructor(kind, message, { status = 0, code = "", body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Seconds a request other than an upload may take. */
export const REQUEST_SECONDS = 30;
/** Seconds one upload request may take. */
export const UPLOAD_SECONDS = 120;

export class Platform {
  /**
   * @param {string} origin the platform's origin, e.g. "https://sealpost.example.com"
   * @param {string|null} token the device token from sign-in
   * @param {typeof fetch} fetchImpl injected in tests that count requests
   */
  constructor(origin, token = null, fetchImpl = globalObject.fetch) {
    this.origin = String(origin).replace(/\/+$/, "");
    this.token = token;
    // Called unbound: a browser's fetch refuses any `this` but the window.
    this.fetchImpl = fetchImpl;
  }

  /** Sends one request; resolves with the parsed JSON answer (null for 204). */
  async request(method, path, { json, body, headers = {}, seconds = REQUEST_SECONDS, signal } = {}) {
    const controller = abortable();
    const onAbort = () => controller.abort();
    if (signal) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const timer = setTimeout(() => controller.abort(), seconds * 1000);
    const h = Object.assign({ Accept: "application/json" }, headers);
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    if (json !== undefined) h["Content-Type"] = "application/json";
    let response;
    try {
      const fetchImpl = this.fetchImpl;
      response = await controller.race(fetchImpl(`${this.origin}${path}`, {
        method,
        headers: h,
        body: json !== undefined ? JSON.stringify(json) : body,
        signal: controller.fetchSignal,
        credentials: "omit",
      }));
      const text = await controller.race(response.text());
      const parsed = text ? parseJson(text) : null;
      if (!response.ok) throw refusal(response.status, parsed);
      return parsed;
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
  }

  /** `GET /healthz`: `{status: "ok"}`; a platform that cannot take work answers 503. */
  health() { return this.request("GET", "/healthz"); }
  signIn({ email, password, totp, device }) {
    const json = { email, password, device };
    if (totp) json.totp = totp;
    return this.request("POST", "/api/v1/auth/sign-in", { json });
  }
  me() { return this.request("GET", "/api/v1/me"); }
  /** Revokes this token; `seconds` shortens the deadline for someone waiting to sign out. */
  signOut({ seconds = REQUEST_SECONDS } = {}) {
    return this.request("DELETE", "/api/v1/tokens/current", { seconds });
  }
  platformKey() { return this.request("GET", "/api/v1/keys/platform"); }
  lookupKeys(emails) {
    const q = emails.map(encodeURIComponent).join(",");
    return this.request("GET", `/api/v1/keys/lookup?email=${q}`);
  }
  classify(candidate, toggle) {
    return this.request("POST", "/api/v1/classify", { json: { candidate, toggle } });
  }
  createMessage(slip) { return this.request("POST", "/api/v1/messages", { json: slip }); }
  uploadOffset(id) { return this.request("GET", `/api/v1/messages/${id}/envelope`); }
  upload(id, offset, bytes, signal) {
    return this.request("PATCH", `/api/v1/messages/${id}/envelope`, {
      body: bytes,
      headers: { "Upload-Offset": String(offset), "Content-Type": "application/octet-stream" },
      seconds: UPLOAD_SECONDS,
      signal,
    });
  }
  finalise(id) { return this.request("POST", `/api/v1/messages/${id}/finalise`); }
  recall(id) { return this.request("POST", `/api/v1/messages/${id}/recall`); }
  message(id) { return this.request("GET", `/api/v1/messages/${id}`); }
  setUnlockCode(id, code) {
    return this.request("PUT", `/api/v1/messages/${id}/unlock-code`, { json: { code } });
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function refusal(status, body) {
  const err = (body && body.error) || {};
  const kind = status === 401 ? ApiFailure.SignedOut : ApiFailure.Refused;
  const message = err.message || `the platform answered ${status}`;
  return new ApiError(kind, message, { status, code: err.code || "", body });
}
