/**
 * The current or last send, from the status record the send handler writes (session.js),
 * read every half second while the pane is open: its phase, a progress bar while uploading,
 * and for a failed send the handler's own message and what to do. The page changes only when
 * what it shows changes, so a screen reader hears each phase once.
 */

import { t } from "../i18n.js";
import { percentText, sendView } from "./present.js";
import { $, say, show } from "./view.js";

/** How often the pane reads the status record, in milliseconds. */
export const POLL_MS = 500;

/** Shows the status record now and keeps it shown while the pane is open. */
export function watchSends(pane) {
  let shownKey = null;
  const tick = async () => {
    let status = null;
    try {
      status = await pane.session.status();
    } catch {
      // unreadable storage shows as "nothing sent yet"; the next tick tries again
    }
    const view = sendView(status, { lang: pane.lang });
    const key = JSON.stringify(view);
    if (key !== shownKey) {
      shownKey = key;
      render(view, pane.lang);
    }
    setTimeout(tick, POLL_MS); // after this read ends, so slow storage never piles up reads
  };
  return tick();
}

function render(view, lang) {
  $("send-section").dataset.phase = view ? view.phase : "none";
  say("send-state", view ? view.text : t("sendNone", {}, lang));
  say("send-error", view && view.error);
  say("send-advice", view && view.advice);
  show("send-error", Boolean(view && view.error));
  show("send-advice", Boolean(view && view.advice));
  const uploading = Boolean(view && view.phase === "uploading");
  show("send-meter", uploading);
  const bar = $("send-progress");
  if (uploading && view.percent !== null) {
    bar.max = 100;
    bar.value = view.percent;
    say("send-percent", percentText(view.percent, lang));
  } else {
    bar.removeAttribute("value"); // no total yet: an indeterminate bar
    say("send-percent", "");
  }
}
