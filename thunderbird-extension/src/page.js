// What every page of the extension's own (options, unlock code) does first: its words from
// _locales, in the user's language.

/** Fills every `data-i18n` element with its message and sets the page's title and language. */
export function translatePage(titleKey) {
  document.documentElement.lang = browser.i18n.getUILanguage();
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = browser.i18n.getMessage(el.dataset.i18n);
  }
  document.title = browser.i18n.getMessage(titleKey);
}
