/**
 * The scripted Office host of the Chromium tests: the fake Office of office-host.js, bundled
 * (esbuild) and served in place of Office.js — which loads only inside Outlook — on the
 * add-in's real pages served by the platform, the task pane and the send runtime alike.
 *
 * The test defines `window.__officeSpec` (the message and the Outlook, see office-host.js)
 * before the page loads. `window.__office` is what the test reads and does:
 * `state` (the item as Outlook holds it, with `calls`, every item call made), `handlers` (what
 * the runtime associated), `await send()` / `await toggle()` (fire Send or the ribbon button;
 * resolve with how the handler completed the event).
 *
 * There is no OfficeRuntime here, so the pages keep their records in localStorage.
 */

import { officeHost } from "./office-host.js";

const spec = window.__officeSpec || {};
// A saved draft stays saved when the page reloads, as in Outlook.
const SAVED = `fakeOffice.saved.${spec.itemId || "AAMk-draft-1"}`;
const host = officeHost({ ...spec, saved: spec.saved || sessionStorage.getItem(SAVED) === "1" });
if (host.item) {
  const save = host.item.saveAsync;
  host.item.saveAsync = (callback) => save((result) => {
    if (result.status === "succeeded") sessionStorage.setItem(SAVED, "1");
    callback(result);
  });
}
window.Office = host.Office;
window.__office = {
  state: host.state,
  handlers: host.handlers,
  send: () => host.fire("onMessageSend"),
  toggle: () => host.fire("toggleSecure"),
};
