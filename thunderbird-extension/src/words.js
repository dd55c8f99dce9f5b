// The user's words for the helper's codes (docs/native-messaging.md): error codes and the
// policy's reasons, from _locales. The helper's own English `message` goes to the log only.

const t = (key, ...subs) => browser.i18n.getMessage(key, subs);

/** What went wrong and what to do, for an error from the helper (or the port). */
export function describeError(e) {
  const code = e?.code ?? "helper_error";
  const text = t(`error_${code}`) || t("error_helper_error");
  if (code === "platform_error" && e.detail) {
    return `${text} (${e.detail})`;
  }
  return text;
}

/** Why policy secures a message, one clause per reason. */
export function describeReasons(reasons) {
  const clauses = (reasons ?? []).map(r => t(`reason_${r.code}`, r.detail ?? "") || r.code);
  return clauses.join(" ");
}
