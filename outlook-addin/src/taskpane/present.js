/**
 * What the task pane says, worked out from data alone (no page, no Office): a failed sign-in
 * in words a person can act on, the device name, a key fingerprint in groups, the platform's
 * health, and the send status record (session.js) as a phase, a percentage and advice. The
 * page modules only put these on screen, so `node --test` checks the wording's logic.
 */

import { ApiFailure } from "../api.js";
import { t } from "../i18n.js";

/**
 * Why a sign-in failed, for the person signing in. `e` is the `ApiError`; `withCode` says
 * whether a second-factor code was sent. Answers `{message, needsCode}`: `needsCode` when the
 * platform asks for the code (`totp_required`).
 */
export function signInProblem(e, { lang, withCode, origin }) {
  const say = (key, params = {}) => ({ message: t(key, params, lang), needsCode: withCode });
  if (e.kind === ApiFailure.Unreachable || e.kind === ApiFailure.TimedOut) {
    return say("signInUnreachable", { origin });
  }
  const wait = e.body && e.body.error && e.body.error.retry_after_seconds;
  switch (e.code) {
    case "totp_required": return { message: t("signInTotpNeeded", {}, lang), needsCode: true };
    case "bad_credentials": return say(withCode ? "signInWrongCode" : "signInWrong");
    case "locked": return say("signInLocked", { when: inTime(wait, lang) });
    case "rate_limited": return say("signInRateLimited", { when: inTime(wait, lang) });
    default: return say("signInRefused", { detail: e.message || String(e) });
  }
}

/** "in 15 minutes", "in 40 Sekunden": a wait in the reader's language, minutes from one on. */
export function inTime(seconds, lang) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 60));
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "always" });
  return s < 60 ? format.format(s, "second") : format.format(Math.ceil(s / 60), "minute");
}

/** Office's platform names (`Office.PlatformType`) as people know them. */
const PLATFORMS = { PC: "Windows", Universal: "Windows", Mac: "Mac", iOS: "iOS", Android: "Android" };

/** The device name the platform lists this sign-in under: "Outlook on Windows". */
export function deviceName(platform, lang) {
  if (platform === "OfficeOnline") return t("deviceWeb", {}, lang);
  return PLATFORMS[platform] ? t("deviceOn", { platform: PLATFORMS[platform] }, lang) : "Outlook";
}

/** Hex digits in groups of four, "a1b2 c3d4 …", the first `digits` of them when given. */
export function groupedHex(hex, digits = Infinity) {
  return String(hex).slice(0, digits).replace(/(.{4})(?=.)/g, "$1 ");
}

/**
 * The platform's health in words: `health` is `{ok: true}` or `{error}` from `GET /healthz`.
 * A 503 means the platform answered but cannot take work now; its `status` says why.
 */
export function healthText(health, lang) {
  if (health.ok) return t("platformReachable", {}, lang);
  const e = health.error;
  if (e && e.kind === ApiFailure.Refused) {
    return t("platformNotReady", { detail: (e.body && e.body.status) || e.message }, lang);
  }
  return t("platformUnreachableShort", {}, lang);
}

/** Outlook stops a send handler after about 300 s: a send "in progress" for longer has died. */
export const STALLED_SECONDS = 300;

/**
 * The send status record as the pane shows it: `{phase, text, percent, error, advice}`, where
 * `percent` is a whole number while uploading with a known total (else null), `error` the
 * handler's own message for a failed send and `advice` what to do next. Null when there is no
 * record.
 */
export function sendView(status, { now = Date.now(), lang } = {}) {
  if (!status || !status.phase) return null;
  const time = status.at ? new Date(status.at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }) : "";
  const view = { phase: status.phase, text: "", percent: null, error: "", advice: "" };
  const busy = status.phase === "reading" || status.phase === "uploading";
  if (busy && status.at && now - status.at > STALLED_SECONDS * 1000) {
    return Object.assign({}, view, { phase: "stalled", text: t("sendStalled", { time }, lang) });
  }
  switch (status.phase) {
    case "reading":
      return Object.assign({}, view, { text: t("sendReading", {}, lang) });
    case "uploading": {
      const known = Number(status.total) > 0;
      const percent = known ? Math.min(100, Math.floor((100 * Number(status.done || 0)) / Number(status.total))) : null;
      return Object.assign({}, view, { text: t("sendUploading", {}, lang), percent });
    }
    case "sent":
      return Object.assign({}, view, { text: t("sendSent", { time }, lang) });
    case "failed":
      return Object.assign({}, view, { text: t("sendFailed", { time }, lang), error: String(status.error || ""), advice: t("sendFailedAdvice", {}, lang) });
    default:
      return null;
  }
}

/** 40 → "40%" (English), "40 %" (German). */
export function percentText(percent, lang) {
  return new Intl.NumberFormat(lang, { style: "percent" }).format(percent / 100);
}
