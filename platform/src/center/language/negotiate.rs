//! Which language a request is answered in: the reader's own choice (the language cookie,
//! which the switch sets and sign-in sets from the account's stored choice), else the
//! browser's `Accept-Language`, else English.
//!
//! `Accept-Language` is read with its q-values by the `accept-language` crate (best first,
//! `q=0` meaning "not this one") and matched against the languages the Center has by
//! `fluent-langneg` (so `de-AT` gets German). Its cost is bounded: only the first
//! [`MAX_HEADER`] bytes and [`MAX_TAGS`] tags are read.

use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::CookieJar;
use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use unic_langid::LanguageIdentifier;

use super::{LANGUAGE_COOKIE, Lang};

/// The most bytes of an `Accept-Language` header read (browsers send under 100).
const MAX_HEADER: usize = 256;
/// The most language tags of the header considered.
const MAX_TAGS: usize = 12;

/// The language of a request with `headers`.
pub(super) fn chosen(headers: &HeaderMap) -> Lang {
    let jar = CookieJar::from_headers(headers);
    if let Some(lang) = jar.get(LANGUAGE_COOKIE).and_then(|c| Lang::from_code(c.value())) {
        return lang;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, from_accept_language)
}

/// The best of the Center's languages for an `Accept-Language` value; English when none fits.
pub(super) fn from_accept_language(value: &str) -> Lang {
    let mut end = value.len().min(MAX_HEADER);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let requested: Vec<LanguageIdentifier> = accept_language::parse_with_quality(&value[..end])
        .into_iter()
        // NaN is not above 0 either: only what the browser accepts.
        .filter(|(_, q)| *q > 0.0)
        .take(MAX_TAGS)
        .filter_map(|(tag, _)| tag.parse().ok())
        .collect();
    let available: Vec<LanguageIdentifier> =
        Lang::ALL.iter().filter_map(|l| l.code().parse().ok()).collect();
    let default = Lang::En.code().parse::<LanguageIdentifier>().unwrap_or_default();
    let best =
        negotiate_languages(&requested, &available, Some(&default), NegotiationStrategy::Lookup);
    best.first().and_then(|tag| Lang::from_code(tag.language.as_str())).unwrap_or(Lang::En)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_browsers_languages_are_read_best_first() {
        assert_eq!(from_accept_language("de-DE,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(from_accept_language("de-AT"), Lang::De);
        assert_eq!(from_accept_language("en-GB,en;q=0.9,de;q=0.8"), Lang::En);
        assert_eq!(from_accept_language("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5"), Lang::De);
        assert_eq!(from_accept_language("en;q=0.4, de;q=0.8"), Lang::De, "by q, not by order");
        assert_eq!(from_accept_language("de;q=0, fr"), Lang::En, "q=0 is a refusal");
        assert_eq!(from_accept_language("fr, es"), Lang::En, "English when none fits");
        assert_eq!(from_accept_language(""), Lang::En);
        assert_eq!(from_accept_language("*"), Lang::En);
        assert_eq!(from_accept_language("de;q=NaN;;;,,,=,"), Lang::En);
    }

    #[test]
    fn a_long_header_is_read_only_so_far() {
        let long = format!("{}de", "xx-YY;q=0.5,".repeat(1000));
        assert_eq!(from_accept_language(&long), Lang::En, "German is past the bound");
        let early = format!("de,{}", "ü".repeat(1000));
        assert_eq!(from_accept_language(&early), Lang::De, "cut on a character boundary");
    }

    #[test]
    fn the_readers_choice_beats_the_browsers_languages() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("de-DE,de;q=0.9"));
        assert_eq!(chosen(&h), Lang::De);
        let cookie = format!("{LANGUAGE_COOKIE}=en");
        h.insert(header::COOKIE, HeaderValue::from_str(&cookie).expect("value"));
        assert_eq!(chosen(&h), Lang::En);
        let cookie = format!("{LANGUAGE_COOKIE}=xx");
        h.insert(header::COOKIE, HeaderValue::from_str(&cookie).expect("value"));
        assert_eq!(chosen(&h), Lang::De, "an unknown choice is ignored");
    }
}
