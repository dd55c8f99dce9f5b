/**
 * What Outlook's compose API leaves out about a part: the content type where it gives none, and
 * which `cid:` of the HTML an inline image answers to (Outlook names inline images `cid:NAME` or
 * `cid:NAME@…`, and its attachment list has no content id).
 */

const TYPES = {
  pdf: "application/pdf", zip: "application/zip", txt: "text/plain", csv: "text/csv",
  htm: "text/html", html: "text/html", xml: "application/xml", json: "application/json",
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
  svg: "image/svg+xml", bmp: "image/bmp", ics: "text/calendar", eml: "message/rfc822",
  doc: "application/msword", xls: "application/vnd.ms-excel", ppt: "application/vnd.ms-powerpoint",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
};

/** The content type a file name suggests; `application/octet-stream` when it suggests none. */
export function contentTypeOf(name) {
  const ext = String(name).toLowerCase().split(".").pop();
  return TYPES[ext] || "application/octet-stream";
}

/** Every content id the HTML refers to with `src="cid:…"`. */
export function referencedContentIds(html) {
  const ids = [];
  const re = /\bsrc\s*=\s*["']?cid:([^"'\s>]+)/gi;
  let m;
  while ((m = re.exec(html))) ids.push(decodeURIComponent(m[1]));
  return ids;
}

/** The content id among `ids` that names inline attachment `a`, or null. */
export function contentIdFor(a, ids) {
  const name = String(a.name || "");
  return ids.find((id) => id === name || id.startsWith(`${name}@`) || id === a.id) || null;
}
