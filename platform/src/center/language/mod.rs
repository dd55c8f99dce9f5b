//! The Message Center in the reader's language: English (the default) and German.
//!
//! - [`catalogue`]: every word the pages show, by id, one Fluent file per language
//!   (`platform/locales/{code}/center.ftl`) — the one owner of the words.
//! - [`negotiate`]: which language a request gets — the reader's choice (the language
//!   cookie), else `Accept-Language`, else English.
//! - [`switch`]: `GET /c/language?lang=…&back=…`, the switch on every page (a link: the Center
//!   runs no script), which sets the cookie, keeps the choice in the reader's account when
//!   signed in, and goes back to a page of the Center only.
//!
//! [`middleware`] decides once per request and hands the answer on as [`Tr`] (the
//! templates' `t`: `{{ t.s("product") }}`, the switch, `<html lang>`); it also renders the notice
//! pages [`CenterError`](super::error::CenterError) asks for, in that language.
//!
//! To add a language: a variant of [`Lang`] (and its place in [`Lang::ALL`], its code in
//! [`Lang::code`]), its file `platform/locales/{code}/center.ftl` with the same ids as the
//! English one (a test holds them equal), and the file in `catalogue::FILES`.

mod catalogue;
mod negotiate;
mod switch;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use fluent_bundle::{FluentArgs, FluentValue};

pub(super) use switch::switch;

/// The cookie that keeps the reader's choice: a preference, not a secret, but sent only over
/// HTTPS and not readable by script all the same. `SameSite=Lax`, so the first page a
/// reader opens from a mail's link is already in their language.
pub(super) const LANGUAGE_COOKIE: &str = "__Host-sealpost-language";

/// A language the Center speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English: the default, and what a message missing from another language falls back to.
    En,
    /// German (Sie-form).
    De,
}

impl Lang {
    /// Every language, in the catalogue's order (English first).
    pub(crate) const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// Its code: in `<html lang>`, the cookie, the switch and the catalogue's folders.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language whose code is `code`, if the Center speaks it.
    pub(crate) fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Message `id` of the catalogue in this language.
    pub(crate) fn text(self, id: &str) -> String {
        catalogue::text(self, id, None)
    }

    /// Message `id` with its arguments: numbers (for plurals) or text.
    pub(crate) fn text_with(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        catalogue::text(self, id, Some(&fluent))
    }
}

/// A message of the catalogue, by its id: what Rust code hands a template to say (a refused
/// form's problem, a note) rather than words of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Phrase(pub(crate) &'static str);

impl AsRef<str> for Phrase {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// The language of one request, as the pages use it, and the page the language switch goes
/// back to.
#[derive(Clone, Debug)]
pub(crate) struct Tr {
    /// The language the page is in.
    pub(crate) lang: Lang,
    /// The page to come back to after switching (a checked local path: `switch::back_of`).
    back: String,
}

/// One entry of the language switch.
pub(crate) struct Choice {
    /// Its code, for the link's `hreflang` and `lang`.
    pub(crate) code: &'static str,
    /// The language's name in itself ("Deutsch").
    pub(crate) name: String,
    /// Where choosing it leads.
    pub(crate) href: String,
    /// Whether it is the page's language.
    pub(crate) current: bool,
}

impl Tr {
    /// Message `id` (a literal in a template, or a [`Phrase`]).
    pub(crate) fn s(&self, id: impl AsRef<str>) -> String {
        self.lang.text(id.as_ref())
    }

    /// Message `id` with one text argument `name` (an address, a size).
    pub(crate) fn s1(&self, id: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.lang.text_with(id, &[(name, FluentValue::from(value.to_string()))])
    }

    /// The page's language code, for `<html lang>`.
    pub(crate) fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// The language switch: every language, each named in itself, and the way to it.
    pub(crate) fn choices(&self) -> Vec<Choice> {
        Lang::ALL
            .into_iter()
            .map(|l| Choice {
                code: l.code(),
                name: l.text("language-name"),
                href: switch::href(l, &self.back),
                current: l == self.lang,
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<Tr>() {
            Some(t) => t.clone(),
            None => of_request(&parts.method, &parts.uri, &parts.headers),
        })
    }
}

/// The language of a request, and its page to come back to.
fn of_request(method: &axum::http::Method, uri: &axum::http::Uri, h: &axum::http::HeaderMap) -> Tr {
    Tr { lang: negotiate::chosen(h), back: switch::back_of(method, uri) }
}

/// A notice page a response asks for ([`super::error::CenterError`]'s), rendered by
/// [`middleware`] in the request's language: the ids of its heading and its sentence.
#[derive(Clone, Copy, Debug)]
pub(super) struct NoticeOf {
    pub(super) heading: Phrase,
    pub(super) text: Phrase,
}

/// Decides the request's language ([`Tr`], in the request's extensions for the handlers),
/// and renders a notice the response asks for in it.
pub(super) async fn middleware(mut request: Request, next: Next) -> Response {
    let t = of_request(request.method(), request.uri(), request.headers());
    request.extensions_mut().insert(t.clone());
    let mut response = next.run(request).await;
    if let Some(NoticeOf { heading, text }) = response.extensions_mut().remove::<NoticeOf>() {
        let status = response.status();
        let page = super::error::notice(&t, status, heading, text);
        let headers = std::mem::take(response.headers_mut());
        response = page;
        for (name, value) in headers.iter() {
            if name == header::SET_COOKIE {
                response.headers_mut().append(name, value.clone());
            }
        }
    }
    // The same address answers in different languages (never cached anyway: no-store).
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    response
}

/// The cookie that keeps `lang` as the reader's choice for a year.
pub(super) fn cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build((LANGUAGE_COOKIE, lang.code()))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::days(365))
        .build()
}
