// Images embedded in the composed HTML. Thunderbird keeps a pasted picture, and an image in
// the identity's signature, in the compose body as a `data:` URL; a mail client sends each as
// a part of multipart/related with a Content-ID that the HTML refers to as `cid:`. The secure
// send does the same: each embedded image becomes a part of the envelope with a Content-ID,
// and the sealed HTML refers to it by `cid:`, so the Message Center shows it like any inline
// image (type-checked, size-bounded, never remote).
//
// A picture quoted from a message replied to (or forwarded inline, or edited as new) is one
// too: Thunderbird first refers to the original's part (`mailbox:…?part=1.2.2&…`) and turns
// it into a `data:` URL as the compose window loads it.
//
// Only `data:` images are taken out; any other source stays as written (the Message Center
// shows no remote image).

import { HelperError } from "./helper.js";

/** More embedded images than any mail has: the bound on work for a hostile body. */
export const MAX_EMBEDDED_IMAGES = 500;

const EXTENSIONS = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/bmp": "bmp",
  "image/svg+xml": "svg",
};

/**
 * The media type and `filename` parameter of an image `data:` URL (RFC 2397; Thunderbird
 * writes `data:image/png;filename=logo.png;base64,…` for a signature image), or null when
 * `src` is not a base64 image `data:` URL.
 */
export function describeDataUrl(src) {
  const comma = src.indexOf(",");
  const head = comma < 0 ? "" : src.slice(0, comma);
  const match = /^data:(image\/[a-z0-9.+-]+)((?:;[^;,]*)*);base64$/i.exec(head.trim());
  if (!match) {
    return null;
  }
  let name = null;
  for (const param of match[2].split(";").slice(1)) {
    const eq = param.indexOf("=");
    if (eq > 0 && param.slice(0, eq).trim().toLowerCase() === "filename") {
      try {
        name = decodeURIComponent(param.slice(eq + 1).trim());
      } catch {
        name = param.slice(eq + 1).trim();
      }
    }
  }
  return { type: match[1].toLowerCase(), name };
}

/** Refuses a message that embeds more images than any mail has (a bound on the send's work). */
export function checkEmbeddedImages(images) {
  if (images.length > MAX_EMBEDDED_IMAGES) {
    throw new HelperError("bad_message", `the message embeds more than ${MAX_EMBEDDED_IMAGES} images`);
  }
}

/**
 * The compose HTML with every embedded image replaced by a `cid:` reference, and the images:
 * `[{ dataUrl, name, contentType, contentId }]`, one per distinct image (an image used twice
 * is one part). `html` is returned as it was when it embeds nothing.
 */
export function takeEmbeddedImages(html) {
  if (!html || !html.toLowerCase().includes("data:")) {
    return { html, images: [] };
  }
  const doc = new DOMParser().parseFromString(html, "text/html");
  const images = [];
  const byUrl = new Map();
  for (const img of doc.querySelectorAll("img[src]")) {
    const src = img.getAttribute("src").trim();
    const described = describeDataUrl(src);
    if (!described) {
      continue;
    }
    let image = byUrl.get(src);
    if (!image) {
      const number = images.length + 1;
      image = {
        dataUrl: src,
        name: described.name || `image${number}.${EXTENSIONS[described.type] ?? "img"}`,
        contentType: described.type,
        contentId: `${crypto.randomUUID()}@sealpost.invalid`,
      };
      byUrl.set(src, image);
      images.push(image);
    }
    img.setAttribute("src", `cid:${image.contentId}`);
  }
  if (images.length === 0) {
    return { html, images };
  }
  // The doctype as written (its public and system ids decide the document's mode).
  const doctype = /^\s*<!DOCTYPE[^>]*>\s*/i.exec(html)?.[0] ?? "";
  return { html: doctype + doc.documentElement.outerHTML, images };
}

/** The bytes of an embedded image, decoded natively (a `data:` URL fetched, no network). */
export async function imageBlob(image) {
  try {
    const blob = await (await fetch(image.dataUrl)).blob();
    return new Blob([blob], { type: image.contentType });
  } catch (e) {
    throw new HelperError("bad_message", `an embedded image cannot be read: ${e}`);
  }
}
