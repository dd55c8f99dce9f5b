/**
 * Giving up on work in flight — a request past its time, a send past its deadline — in every
 * runtime the add-in runs in. Browsers (Outlook on the web, new Outlook, Mac, the task pane)
 * have `AbortController`, and `fetch` stops when its signal fires. Classic Outlook's
 * JavaScript-only runtime is not promised to have it, so there a stand-in signal does the
 * same for the add-in's own code: whoever waits through `race` is released (rejected) when it
 * fires, though the request itself is left to run out unheard. Either way a time-out ends in a
 * rejection, never in a wait without end, and so in a blocked send.
 */

/** A failure that only says the work was given up. */
export class Aborted extends Error {
  constructor() {
    super("the request was given up");
    this.name = "Aborted";
  }
}

/**
 * `{signal, abort(), fetchSignal, race(promise)}`: `signal` has `aborted` and
 * `addEventListener`/`removeEventListener("abort")`; `fetchSignal` is what to hand `fetch`
 * (undefined where the runtime has no AbortController: fetch would refuse a stand-in).
 */
export function abortable() {
  const native = typeof AbortController === "function" ? new AbortController() : null;
  const signal = native ? native.signal : standInSignal();
  return {
    signal,
    fetchSignal: native ? native.signal : undefined,
    abort: () => (native ? native.abort() : signal.fire()),
    race: (promise) => race(promise, signal),
  };
}

/** Resolves as `promise` does, unless `signal` fires first: then rejects with `Aborted`. */
function race(promise, signal) {
  if (signal.aborted) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Aborted());
    signal.addEventListener("abort", onAbort);
    promise.then(
      (v) => { signal.removeEventListener("abort", onAbort); resolve(v); },
      (e) => { signal.removeEventListener("abort", onAbort); reject(e); },
    );
  });
}

/** An AbortSignal's part the add-in uses, for a runtime without one. */
function standInSignal() {
  const listeners = [];
  return {
    aborted: false,
    addEventListener(type, fn) {
      if (type === "abort" && !listeners.includes(fn)) listeners.push(fn);
    },
    removeEventListener(type, fn) {
      const i = listeners.indexOf(fn);
      if (i >= 0) listeners.splice(i, 1);
    },
    fire() {
      if (this.aborted) return;
      this.aborted = true;
      for (const fn of listeners.splice(0)) fn();
    },
  };
}
