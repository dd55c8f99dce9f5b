/**
 * The few things the task pane's modules do to the page: find an element, show or hide it,
 * set its text (never HTML: what the platform or the send handler wrote is shown as text), and
 * put every `data-i18n` string in the reader's language.
 */

import { t } from "../i18n.js";

export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`taskpane.html has no #${id}`);
  return el;
}

export function show(id, on = true) {
  $(id).hidden = !on;
}

export function say(id, text) {
  $(id).textContent = text || "";
}

/** Fills each `[data-i18n]` element with its string in `lang`; `params` fill placeholders. */
export function localise(lang, params = {}) {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, params, lang);
  }
}
