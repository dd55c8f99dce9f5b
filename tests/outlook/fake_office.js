/*
 * A scripted Office.js host for the task pane in Chromium: the tests route
 * https://appsforoffice.microsoft.com/lib/1/hosted/office.js here, since Microsoft's Office.js
 * cannot run outside Outlook. It offers what the pane uses — Office.onReady, the display
 * language, the requirement sets, the mailbox's user and the compose item's saveAsync and
 * getItemIdAsync — and no OfficeRuntime, so the pane keeps its session in localStorage.
 *
 * A test sets `window.fakeOfficeConfig` (Playwright add_init_script) before the page loads:
 *   displayLanguage  "en-US" unless given
 *   platform         Office.PlatformType, "OfficeOnline" unless given
 *   mailbox          the highest Mailbox requirement set, "1.12" unless given; below 1.8 the
 *                    item has no getItemIdAsync, as in such an Outlook
 *   item             false: no compose item (the pane opened elsewhere)
 *   itemId           the id the draft gets when saved
 *   saveError        saveAsync fails with this message
 * `window.fakeOffice.calls` lists the item calls made, for the tests to read.
 */
(function () {
  "use strict";
  var config = Object.assign({
    displayLanguage: "en-US",
    platform: "OfficeOnline",
    mailbox: "1.12",
    item: true,
    itemId: "AAMkADraft-0001",
    saveError: null,
    email: "alice@acme.example",
  }, window.fakeOfficeConfig || {});
  var calls = [];
  // A saved draft stays saved when the pane reloads, as in Outlook.
  var SAVED = "fakeOffice.saved." + config.itemId;
  var saved = sessionStorage.getItem(SAVED) === "1";

  function asyncResult(value, error) {
    return error
      ? { status: "failed", error: { name: "GenericResponseError", message: error, code: 9000 } }
      : { status: "succeeded", value: value };
  }
  function respond(args, value, error) {
    var callback = args[args.length - 1];
    setTimeout(function () { callback(asyncResult(value, error)); }, 5);
  }
  function version(v) {
    return v.split(".").map(Number);
  }
  function atLeast(have, want) {
    var a = version(have), b = version(want);
    return a[0] > b[0] || (a[0] === b[0] && (a[1] || 0) >= (b[1] || 0));
  }

  var item = {
    itemType: "message",
    saveAsync: function () {
      calls.push("saveAsync");
      if (config.saveError) return respond(arguments, null, config.saveError);
      saved = true;
      sessionStorage.setItem(SAVED, "1");
      respond(arguments, config.itemId);
    },
  };
  if (atLeast(config.mailbox, "1.8")) {
    item.getItemIdAsync = function () {
      calls.push("getItemIdAsync");
      // A draft that was never saved has no id yet.
      respond(arguments, saved ? config.itemId : null, saved ? null : "The item has not been saved.");
    };
  }

  var context = {
    displayLanguage: config.displayLanguage,
    diagnostics: { platform: config.platform, hostName: "Outlook" },
    requirements: {
      isSetSupported: function (name, v) {
        return name === "Mailbox" && atLeast(config.mailbox, v || "1.1");
      },
    },
    mailbox: {
      item: config.item ? item : null,
      userProfile: { emailAddress: config.email, displayName: "Alice Example" },
    },
  };

  window.fakeOffice = { calls: calls, config: config };
  window.Office = {
    context: context,
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    onReady: function (callback) {
      var info = { host: "Outlook", platform: config.platform };
      var ready = new Promise(function (resolve) { setTimeout(function () { resolve(info); }, 10); });
      if (callback) ready.then(callback);
      return ready;
    },
  };
})();
