/**
 * The fake Office of office-host.js behind office-addin-mock (host "outlook"), as the Node
 * tests hand it to the add-in; and the other pieces of a fake Outlook: a send event, a storage.
 */

import { OfficeMockObject } from "office-addin-mock";
import { officeHost, sendEvent, memoryStore } from "./office-host.js";

export { sendEvent, memoryStore };

/** A compose item (see compose-item.js) behind office-addin-mock, as Outlook would hand it over. */
export function composeItem(m) {
  const host = officeHost(m);
  const office = new OfficeMockObject({ context: host.Office.context }, "outlook");
  return { item: office.context.mailbox.item, state: host.state, office };
}
