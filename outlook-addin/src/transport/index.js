/**
 * Which way a message goes, behind one interface (`name`, `classify(candidate, toggle)`,
 * `send(message, {onProgress, signal})`, `recall(id)`): through the helper on this computer
 * when the task pane paired with it and it answers, signed in (bridge.js), else straight to
 * the platform with the envelope sealed here (direct.js). Both ask the same policy crate —
 * the helper from the tenant policy it caches, direct from the platform's classify — so
 * policy has one owner.
 */

import { Platform } from "../api.js";
import { globalObject } from "../global.js";
import { SendStopped } from "../send.js";
import { BridgeTransport } from "./bridge.js";
import { DirectTransport } from "./direct.js";

/**
 * The transport for the session in `session`. Throws `SendStopped("notSignedIn")` when
 * neither the helper nor a direct sign-in can send.
 */
export async function transportFor(session, fetchImpl = globalObject.fetch) {
  const s = await session.load();
  if (s && s.bridge) {
    const helper = new BridgeTransport(s.bridge, fetchImpl);
    const hello = await helper.hello().catch(() => null);
    if (hello && hello.signed_in) return helper;
  }
  if (!s || !s.token) throw new SendStopped("notSignedIn");
  return new DirectTransport(new Platform(s.origin, s.token, fetchImpl), { email: s.email });
}
