// The one error type the envelope writer throws. Its `code` is one of the envelope crate's
// stable error codes (`envelope/src/error.rs`: `bad_key`, `bad_manifest`,
// `part_length_mismatch`, `usage`, `random`), so the add-in can turn it into translated text
// the same way the Thunderbird extension does; `message` says in English what to fix.

export class EnvelopeError extends Error {
  /** `code`: a stable error code; `message`: what went wrong, for a developer's log. */
  constructor(code, message) {
    super(message);
    this.name = "EnvelopeError";
    this.code = code;
  }
}

/** A caller passed something the format cannot hold (code `usage`). */
export function usageError(message) {
  return new EnvelopeError("usage", message);
}
