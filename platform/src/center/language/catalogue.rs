//! The catalogue: every word the Message Center shows, one Fluent file per language
//! (`platform/locales/{code}/center.ftl`), compiled into the binary and parsed once.
//!
//! Why Fluent (`fluent-bundle`, Project Fluent's reference implementation): a message is
//! written whole in each language, with its own plural and word order (`vor { $minutes }
//! Minuten`, not "{n} minutes ago" glued together in code), and the translator's file is the
//! one owner of the words — the templates and the Rust code name messages by id only.
//!
//! A message missing from a language is taken from English, and an id missing from English
//! too is shown as itself and logged: a page never fails for a word. The tests hold both
//! files to the same ids (`tests` below) and every id the code and templates name to the
//! English file.

use std::borrow::Cow;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use super::Lang;

/// The text of each language's file, in [`Lang::ALL`]'s order.
const FILES: [&str; 2] = [
    include_str!("../../../locales/en/center.ftl"),
    include_str!("../../../locales/de/center.ftl"),
];

type Bundle = FluentBundle<FluentResource>;

/// The parsed catalogue, one bundle per language in [`Lang::ALL`]'s order.
fn bundles() -> &'static [Bundle] {
    static BUNDLES: OnceLock<Vec<Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Lang::ALL
            .iter()
            .zip(FILES)
            .map(|(lang, text)| {
                let tag = lang.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![tag]);
                // The pages are HTML, where `<bdi>` isolates a sender's text: no invisible
                // isolation marks around arguments (they would end up in copied text).
                bundle.set_use_isolating(false);
                let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(
                    |(resource, errors)| {
                        tracing::error!(lang = lang.code(), ?errors, "center.ftl does not parse");
                        resource
                    },
                );
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(lang = lang.code(), ?errors, "center.ftl repeats an id");
                }
                bundle
            })
            .collect()
    })
}

fn bundle(lang: Lang) -> &'static Bundle {
    &bundles()[lang as usize]
}

/// Message `id` in `lang` (else in English, else the id itself), with `args`.
pub(super) fn text(lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    for bundle in [bundle(lang), bundle(Lang::En)] {
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text: Cow<'_, str> = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(id, lang = lang.code(), ?errors, "a message of center.ftl");
            }
            return text.into_owned();
        }
    }
    tracing::error!(id, "no such message in center.ftl");
    id.to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The ids of the messages in a file (which must parse).
    fn ids(text: &str) -> BTreeSet<String> {
        assert!(FluentResource::try_new(text.to_string()).is_ok(), "the file parses");
        text.lines()
            .filter_map(|l| l.split_once(" ="))
            .map(|(id, _)| id)
            .filter(|id| id.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_language_parses_and_has_the_same_messages() {
        let english = ids(FILES[0]);
        for (lang, file) in Lang::ALL.iter().zip(FILES) {
            let these = ids(file);
            let missing: Vec<_> = english.difference(&these).collect();
            let extra: Vec<_> = these.difference(&english).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{lang:?}: {missing:?} {extra:?}");
        }
    }

    /// Every message id the Center's code and templates name (`t.s("…")`, `t.s1("…"`,
    /// `Phrase("…")`, `text("…"`) is in the catalogue.
    #[test]
    fn every_id_the_center_names_is_in_the_catalogue() {
        let english = ids(FILES[0]);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["src/center", "src/center/language", "templates/center"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
                if entry.path().is_file() {
                    files.push(entry.path());
                }
            }
        }
        let mut named = 0;
        for path in files {
            let source = std::fs::read_to_string(&path).expect("source");
            for opener in ["t.s(\"", "t.s1(\"", "Phrase(\"", "text(\""] {
                for (at, _) in source.match_indices(opener) {
                    let rest = &source[at + opener.len()..];
                    let id = &rest[..rest.find('"').expect("closing quote")];
                    let is_id = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
                    if id.is_empty() || !id.chars().all(is_id) {
                        continue; // not a message id (`text("\n")` and the like)
                    }
                    named += 1;
                    assert!(english.contains(id), "{}: {id} is not in center.ftl", path.display());
                }
            }
        }
        assert!(named > 100, "the scan found the ids ({named})");
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_id() {
        assert_eq!(text(Lang::De, "no-such-message", None), "no-such-message");
        assert_eq!(text(Lang::De, "language-name", None), "Deutsch");
        assert_eq!(text(Lang::En, "language-name", None), "English");
    }
}
