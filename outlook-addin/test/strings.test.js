// Every string a person reads exists in English and German, and placeholders match.
import { test } from "node:test";
import assert from "node:assert/strict";
import { STRING_KEYS, t, languageOf } from "../src/i18n.js";

test("German has every English string, with the same placeholders", () => {
  assert.deepEqual([...STRING_KEYS.de].sort(), [...STRING_KEYS.en].sort());
  for (const key of STRING_KEYS.en) {
    const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const raw = (lang) => t(key, new Proxy({}, { has: () => false }), lang);
    assert.deepEqual(names(raw("de")), names(raw("en")), key);
  }
});

test("the language follows Outlook's display language", () => {
  assert.equal(languageOf("de-DE"), "de");
  assert.equal(languageOf("de-AT"), "de");
  assert.equal(languageOf("en-GB"), "en");
  assert.equal(languageOf("fr-FR"), "en");
  assert.match(t("notSignedIn", {}, "de"), /anmelden/);
});
