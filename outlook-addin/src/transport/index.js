/**
 * Which way a message goes, behind one interface (`name`, `classify(candidate, toggle)`,
 * `send(message, {onProgress, signal})`, `recall(id)`): the platform's API with the envelope
 * sealed here (direct.js). Both ways ask the platform's policy, so policy has one owner.
 */

import { Platform } from "../api.js";
import { SendStopped } from "../send.js";
import { DirectTransport } from "./direct.js";

/** The transport for the signed-in session in `session`, or `SendStopped("notSignedIn")`. */
export async function transportFor(session, fetchImpl = globalThis.fetch) {
  const s = await session.load();
  if (!s) throw new SendStopped("notSignedIn");
  return new DirectTransport(new Platform(s.origin, s.token, fetchImpl), { email: s.email });
}
