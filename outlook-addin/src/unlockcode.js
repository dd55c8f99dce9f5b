/**
 * A message's unlock code (docs/api.md, `PUT /api/v1/messages/{id}/unlock-code`): the sender
 * sets one for a message and passes it on by phone; recipients give it before they can read.
 * The bounds are the platform's (`UNLOCK_CODE_CHARS`), restated here so the sender hears about
 * a bad code while typing, not on Send; tests/contract/check_clients.py holds them against the
 * platform's OpenAPI document.
 */

/** Characters, once outer spaces are trimmed. */
export const UNLOCK_CODE_MIN = 6;
export const UNLOCK_CODE_MAX = 64;

/** `raw` trimmed, or null when its length is out of bounds. */
export function checkedUnlockCode(raw) {
  if (typeof raw !== "string") return null;
  const code = raw.trim();
  const chars = [...code].length; // code points, as the platform counts them
  return chars >= UNLOCK_CODE_MIN && chars <= UNLOCK_CODE_MAX ? code : null;
}
