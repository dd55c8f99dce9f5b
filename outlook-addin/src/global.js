/**
 * The global object — where `Office`, `OfficeRuntime`, `fetch`, `crypto`, `localStorage`,
 * `navigator` and `btoa` live, when the runtime has them — found without `globalThis`.
 *
 * `globalThis` is ES2020. Classic Outlook on Windows runs the send handler (dist/commands.js)
 * in a JavaScript-only runtime that before build 2403 has only ES2016, language and built-in
 * library, so there it may not exist and a bare `globalThis.Office` would throw on every send.
 * What each runtime has instead:
 * - browsers (Outlook on the web, new Outlook, Mac, the task pane, the runtime page): `self`,
 *   which in a page is the window and in a worker the worker's global object;
 * - Node (the tests, which import src/ as ES modules): `global`;
 * - the JavaScript-only runtime: no `window`, and maybe no `self` (Microsoft does not list its
 *   globals). The script's own top-level `this` is the global object, but the bundle cannot see
 *   it: esbuild makes a module's top-level `this` undefined. What is left is the rule every
 *   engine since ES5 follows (ES2016 §9.2.1.2, OrdinaryCallBindThis): a function that is not
 *   strict, called on nothing, runs with the global object as its `this`. The bundle is a
 *   classic script without "use strict", so `sloppyThis` below is not strict there; in an
 *   ES module (Node, where `global` is found first) it is, and gives undefined.
 *   `Function("return this")` makes such a function whatever the code around it, and is the
 *   last resort: a host may forbid making code from strings (a page's Content Security Policy
 *   without 'unsafe-eval'; Chakra hosts can turn it off), but no browser or Node gets that far.
 *
 * test/classic-runtime.test.js runs the bundle with `globalThis`, `self` and `global` all
 * absent and checks that it still finds `Office` and `fetch` through this.
 */
export const globalObject = findGlobalObject();

function findGlobalObject() {
  if (typeof self === "object" && self) return self;
  if (typeof global === "object" && global) return global;
  const viaSloppyCall = sloppyThis();
  if (typeof viaSloppyCall === "object" && viaSloppyCall) return viaSloppyCall;
  return Function("return this")();
}

function sloppyThis() {
  return this; // the global object where this function is not strict (the bundle), else undefined
}
