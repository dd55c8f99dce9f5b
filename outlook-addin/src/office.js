/**
 * The one door to Office.js's callback-style API: each call becomes a promise that rejects
 * with an `OfficeError` (carrying Office's own error name) when Office reports a failure.
 *
 * Outlook on the web and new Outlook allow at most three Office calls in flight at once, and
 * removing attachments in parallel fails with change-key conflicts, so the add-in awaits each
 * call before the next; nothing here runs calls side by side.
 */

/** A failure Office reported for an asynchronous call. */
export class OfficeError extends Error {
  constructor(what, error) {
    super(`${what}: ${(error && error.message) || "Office reported a failure"}`);
    this.name = "OfficeError";
    this.code = (error && (error.name || error.code)) || "Unknown";
  }
}

/**
 * Calls `target[method](...args, callback)` and resolves with the result's value.
 * `what` names the call in error messages ("reading the body").
 */
export function call(what, target, method, ...args) {
  return new Promise((resolve, reject) => {
    if (!target || typeof target[method] !== "function") {
      reject(new OfficeError(what, { name: "NotSupported", message: `${method} is not available in this Outlook` }));
      return;
    }
    try {
      target[method](...args, (result) => {
        if (result && result.status === "failed") reject(new OfficeError(what, result.error));
        else resolve(result ? result.value : undefined);
      });
    } catch (e) {
      reject(new OfficeError(what, e));
    }
  });
}
