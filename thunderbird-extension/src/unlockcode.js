// Message unlock codes (docs/native-messaging.md, `send_begin`): the sender sets one for a
// message and passes it on out of band; recipients give it, after their one-time code, before
// they can read. The same bounds as the helper's and the platform's, checked here first so the
// sender hears about a bad one while typing, not on Send.

/** Characters, once outer spaces are trimmed. */
export const UNLOCK_CODE_MIN = 6;
export const UNLOCK_CODE_MAX = 64;

/** `raw` trimmed, or null when its length is out of bounds. */
export function checkedUnlockCode(raw) {
  if (typeof raw !== "string") {
    return null;
  }
  const code = raw.trim();
  const chars = [...code].length; // code points, as the helper counts them
  return chars >= UNLOCK_CODE_MIN && chars <= UNLOCK_CODE_MAX ? code : null;
}

/** No 0/O, 1/I/L: a code read out over the phone is not misheard. */
const ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/** A fresh code such as `K7QM-4TZP-2XWA`: 12 characters, about 59 bits. */
export function suggestUnlockCode() {
  const out = [];
  const bytes = new Uint8Array(1);
  // Rejection sampling: only bytes below the largest multiple of the alphabet's size, so
  // every character is equally likely.
  const limit = 256 - (256 % ALPHABET.length);
  while (out.length < 12) {
    crypto.getRandomValues(bytes);
    if (bytes[0] < limit) {
      out.push(ALPHABET[bytes[0] % ALPHABET.length]);
    }
  }
  return [0, 4, 8].map(i => out.slice(i, i + 4).join("")).join("-");
}
