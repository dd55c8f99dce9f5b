/* Test-only window actor: lets the driver's experiment fill in and click the product's own
   extension pages (the unlock-code window, the options page), which run in the extension
   process where no chrome code can reach their DOM directly. */

export class SealpostDriverPageParent extends JSWindowActorParent {}

export class SealpostDriverPageChild extends JSWindowActorChild {
  receiveMessage({ name, data }) {
    if (name !== "act") {
      return null;
    }
    const doc = this.document;
    if (data.action === "present") {
      return doc.querySelector(data.selector) !== null;
    }
    const el = doc.querySelector(data.selector);
    if (!el) {
      throw new Error(`no ${data.selector} on ${doc.location.href}`);
    }
    switch (data.action) {
      case "fill":
        el.value = data.value;
        el.dispatchEvent(new this.contentWindow.Event("input", { bubbles: true }));
        return null;
      case "click":
        el.click();
        return null;
      case "read":
        return {
          value: el.value ?? null,
          text: el.textContent,
          hidden: Boolean(el.hidden),
          readOnly: Boolean(el.readOnly),
        };
      default:
        throw new Error(`unknown action ${data.action}`);
    }
  }
}
