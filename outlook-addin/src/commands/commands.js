/**
 * The add-in's function file and event runtime, bundled into one file without imports
 * (`dist/commands.js`): classic Outlook on Windows runs it alone in a JavaScript-only runtime;
 * Outlook on the web, new Outlook and Mac load it from `commands.html`. It maps the manifest's
 * function names to the handlers.
 */

import { Session } from "../session.js";
import { onMessageSend } from "../send.js";
import { toggleSecure } from "../toggle.js";
import { transportFor } from "../transport/index.js";
import { currentLanguage } from "../i18n.js";

function item() {
  return Office.context.mailbox.item;
}

async function handleSend(event) {
  const session = new Session();
  await onMessageSend(event, {
    item: item(),
    session,
    transport: () => transportFor(session),
    lang: currentLanguage(),
  });
}

async function handleToggle(event) {
  try {
    await toggleSecure(item(), currentLanguage());
  } finally {
    event.completed();
  }
}

/** Last resort: even a failure before the handler's own try must block, never allow. */
function blocking(handler) {
  return (event) => {
    handler(event).catch((e) => {
      try {
        event.completed({ allowEvent: false, errorMessage: `Sealpost: ${(e && e.message) || e}` });
      } catch {
        // completed twice: the first answer stands
      }
    });
  };
}

Office.actions.associate("onMessageSend", blocking(handleSend));
Office.actions.associate("toggleSecure", (event) => {
  handleToggle(event).catch(() => {});
});
