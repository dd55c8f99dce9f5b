/* Test-only experiment: reaches the compose window's toolbar, which no MailExtension API
   exposes to another extension, to click and read the product's real button and open its
   context menu; and, through a window actor, the product's own pages. */
/* global ChromeUtils, Ci, Services, WebExtensionPolicy */
"use strict";

var { ExtensionCommon } = ChromeUtils.importESModule("resource://gre/modules/ExtensionCommon.sys.mjs");
var { ExtensionUtils } = ChromeUtils.importESModule("resource://gre/modules/ExtensionUtils.sys.mjs");

const PAGE_ACTOR = "SealpostDriverPage";
const RESOURCE_HOST = "sealpost-driver";
let actorRegistered = false;

/** Serves this extension's files as resource://sealpost-driver/ (window actors load their
 * modules from resource: or chrome: URLs only) and registers the page actor, once. */
function registerPageActor(extension) {
  if (actorRegistered) {
    return;
  }
  const res = Services.io.getProtocolHandler("resource").QueryInterface(Ci.nsIResProtocolHandler);
  res.setSubstitution(RESOURCE_HOST, extension.rootURI);
  const esModuleURI = `resource://${RESOURCE_HOST}/experiment/page-actor.sys.mjs`;
  ChromeUtils.registerWindowActor(PAGE_ACTOR, {
    parent: { esModuleURI },
    child: { esModuleURI },
  });
  actorRegistered = true;
}

/** The browser showing a page whose address contains `urlPart`, in any window. */
function pageBrowser(urlPart) {
  for (const win of Services.wm.getEnumerator(null)) {
    for (const b of win.document.querySelectorAll("browser")) {
      if (b.currentURI?.spec.includes(urlPart)) {
        return b;
      }
    }
  }
  return null;
}

/** `fn`'s failures as errors the driver sees with their words (any other error reaches it as
 * "An unexpected error occurred"). */
async function reported(fn) {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof ExtensionUtils.ExtensionError ? e : new ExtensionUtils.ExtensionError(`${e}\n${e?.stack ?? ""}`);
  }
}

// eslint-disable-next-line no-unused-vars
var composeUi = class extends ExtensionCommon.ExtensionAPI {
  onShutdown() {
    if (actorRegistered) {
      ChromeUtils.unregisterWindowActor(PAGE_ACTOR);
      const res = Services.io.getProtocolHandler("resource").QueryInterface(Ci.nsIResProtocolHandler);
      res.setSubstitution(RESOURCE_HOST, null);
      actorRegistered = false;
    }
  }

  getAPI(context) {
    registerPageActor(context.extension);
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
        menuItem: (tabId, extensionId, menuItemId) => reported(async () => {
          // Right-click the button as a user would; Thunderbird fills the toolbar's context
          // menu with the extension's items (ids made of its widget id and the item's id).
          const b = button(tabId, extensionId);
          const win = b.ownerDocument.defaultView;
          const menu = win.document.getElementById("toolbar-context-menu");
          if (!menu) {
            throw new ExtensionUtils.ExtensionError("the compose window has no toolbar context menu");
          }
          const shown = new Promise(resolve => menu.addEventListener("popupshown", resolve, { once: true }));
          const r = b.getBoundingClientRect();
          // The event names the button as what was clicked (the menu's triggerNode), which is
          // how Thunderbird knows whose items to show.
          const click = new win.MouseEvent("contextmenu", {
            bubbles: true, cancelable: true, button: 2, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2,
          });
          b.dispatchEvent(click);
          if (menu.state !== "open" && menu.state !== "showing") {
            menu.openPopup(b, { position: "after_start", isContextMenu: true, triggerEvent: click });
          }
          await shown;
          const widget = extensionId.toLowerCase().replace(/[^a-z0-9_-]/g, "_");
          const item = win.document.getElementById(`${widget}-menuitem-_${menuItemId}`);
          if (!item) {
            menu.hidePopup();
            throw new ExtensionUtils.ExtensionError(`no menu item ${menuItemId} on the button`);
          }
          const label = item.getAttribute("label") ?? "";
          const hidden = new Promise(resolve => menu.addEventListener("popuphidden", resolve, { once: true }));
          menu.activateItem(item);
          await hidden;
          return { label };
        }),
        page: (urlPart, action, selector, value) => reported(async () => {
          const b = pageBrowser(urlPart);
          const actor = b?.browsingContext?.currentWindowGlobal?.getActor(PAGE_ACTOR);
          if (!actor) {
            return { present: false, result: null };
          }
          const result = await actor.sendQuery("act", { action, selector, value });
          return { present: true, result };
        }),
        openOptions: (extensionId) => reported(async () => {
          // As the Add-ons Manager's "Options" would: the extension's own options page, here
          // in a tab of the main window.
          const policy = WebExtensionPolicy.getByID(extensionId);
          const page = policy?.extension?.manifest?.options_ui?.page;
          if (!page) {
            throw new ExtensionUtils.ExtensionError(`${extensionId} is not installed or has no options page`);
          }
          const url = policy.getURL(page);
          const tabmail = Services.wm.getMostRecentWindow("mail:3pane")?.document.getElementById("tabmail");
          if (!tabmail?.tabModes?.contentTab) {
            // Tab types are registered once the main window has started up: ask again.
            throw new ExtensionUtils.ExtensionError("the main window cannot open tabs yet");
          }
          tabmail.openTab("contentTab", {
            url,
            triggeringPrincipal: policy.extension.principal,
          });
          return { url };
        }),
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
