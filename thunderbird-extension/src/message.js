// What the helper is told about a message being composed, taken from Thunderbird's
// ComposeDetails: bare addresses (the helper wants no display names), subject, bodies.

import { HelperError } from "./helper.js";
import { checkEmbeddedImages, takeEmbeddedImages } from "./inline.js";

/** The header that marks a message already secured (its body is the stub). */
export const MESSAGE_ID_HEADER = "X-Sealpost-Message-Id";

/** Bare addresses from a ComposeDetails recipient field (strings like "Bob <bob@x>"). */
export async function addresses(field) {
  const list = field == null ? [] : Array.isArray(field) ? field : [field];
  const out = [];
  for (const entry of list) {
    if (typeof entry !== "string") {
      // An address-book contact or mailing list given by id: the helper could not know who
      // receives it, so the message cannot be classified safely.
      throw new HelperError("unsupported_recipient", "a recipient is an address-book entry, not an address");
    }
    for (const mailbox of await browser.messengerUtilities.parseMailboxString(entry)) {
      if (mailbox.email) {
        out.push(mailbox.email);
      }
    }
  }
  return out;
}

/** The value of `X-Sealpost-Message-Id` in these details, or null. */
export function sealpostHeader(details) {
  const header = (details.customHeaders ?? []).find(
    h => h.name.toLowerCase() === MESSAGE_ID_HEADER.toLowerCase(),
  );
  return header?.value ?? null;
}

/**
 * The bodies as the helper wants them: text always, HTML unless composing plain text, its
 * embedded images taken out as parts (`images`, see inline.js) and referred to by `cid:`.
 */
export function bodies(details) {
  const text = details.plainTextBody ?? null;
  if (details.isPlainText) {
    return { text, html: null, images: [] };
  }
  const { html, images } = takeEmbeddedImages(details.body ?? null);
  return { text, html, images };
}

/** The `classify` candidate for these details. */
export async function candidate(details, attachmentCount) {
  const { text, html } = bodies(details);
  const recipients = [
    ...(await addresses(details.to)),
    ...(await addresses(details.cc)),
    ...(await addresses(details.bcc)),
  ];
  return { recipients, subject: details.subject ?? "", text, html, attachments: attachmentCount };
}

/** The `send_begin` message for these details, and the images its HTML embeds. */
export async function outgoing(details) {
  const [from] = await addresses(details.from);
  if (!from) {
    throw new HelperError("bad_message", "the message has no sender address");
  }
  const { text, html, images } = bodies(details);
  checkEmbeddedImages(images);
  const headers = (details.customHeaders ?? []).map(h => [h.name, h.value]);
  const message = {
    from,
    to: await addresses(details.to),
    cc: await addresses(details.cc),
    bcc: await addresses(details.bcc),
    subject: details.subject ?? "",
    text,
    html,
    date: new Date().toISOString(),
    headers,
  };
  return { message, images };
}
