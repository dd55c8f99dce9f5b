/**
 * `Promise.allSettled`, which is ES2020: classic Outlook's JavaScript-only runtime, which runs
 * the send handler, has only ES2016's built-ins before build 2403 (docs/outlook-addin.md).
 * Same contract: waits for every promise (or value) to settle, never rejects, and resolves
 * with `{status: "fulfilled", value}` or `{status: "rejected", reason}` for each, in order.
 */
export function allSettled(promises) {
  return Promise.all(Array.from(promises, (promise) => Promise.resolve(promise).then(
    (value) => ({ status: "fulfilled", value }),
    (reason) => ({ status: "rejected", reason }),
  )));
}
