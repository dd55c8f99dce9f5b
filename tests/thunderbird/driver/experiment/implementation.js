/* Test-only experiment: reaches the compose window's toolbar, which no MailExtension API
   exposes to another extension, to click and read the product's real button. */
/* global ChromeUtils */
"use strict";

var { ExtensionCommon } = ChromeUtils.importESModule("resource://gre/modules/ExtensionCommon.sys.mjs");
var { ExtensionUtils } = ChromeUtils.importESModule("resource://gre/modules/ExtensionUtils.sys.mjs");

// eslint-disable-next-line no-unused-vars
var composeUi = class extends ExtensionCommon.ExtensionAPI {
  getAPI(context) {
    function button(tabId, extensionId) {
      const native = context.extension.tabManager.get(tabId).nativeTab;
      const win = native.document ? native : native.ownerGlobal;
      // Thunderbird names toolbar buttons after the extension id (its makeWidgetId).
      const widget = extensionId.toLowerCase().replace(/[^a-z0-9_-]/g, "_");
      const id = `${widget}-composeAction-toolbarbutton`;
      const found = win.document.getElementById(id);
      if (!found) {
        throw new ExtensionUtils.ExtensionError(`no button ${id} in the compose window`);
      }
      return found;
    }
    function displayButton(tabId, extensionId) {
      // A message tab shows about:message in its chromeBrowser; the button lives there.
      const native = context.extension.tabManager.get(tabId).nativeTab;
      const doc = (native.chromeBrowser ?? native.messageBrowser)?.contentDocument;
      const widget = extensionId.toLowerCase().replace(/[^a-z0-9_-]/g, "_");
      return doc?.getElementById(`${widget}-messageDisplayAction-toolbarbutton`) ?? null;
    }
    return {
      composeUi: {
        async displayAction(tabId, extensionId, click) {
          const b = displayButton(tabId, extensionId);
          if (!b) {
            return { present: false, enabled: false, label: "" };
          }
          const enabled = !b.disabled && !b.hasAttribute("disabled");
          if (click && enabled) {
            b.click();
          }
          return { present: true, enabled, label: b.getAttribute("label") ?? "" };
        },
        async click(tabId, extensionId) {
          button(tabId, extensionId).click();
        },
        async describe(tabId, extensionId) {
          const b = button(tabId, extensionId);
          return {
            label: b.getAttribute("label") ?? "",
            tooltip: b.getAttribute("tooltiptext") ?? "",
            badge: b.getAttribute("badge") ?? "",
          };
        },
      },
    };
  }
};
