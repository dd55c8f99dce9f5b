//! The language switch: `GET /c/language?lang=de&back=/c/mail/inbox`, a plain link on every
//! page (the Center runs no script). It sets the language cookie, keeps the choice in the
//! reader's account when one is signed in (sign-in sets the cookie from it again, in any
//! browser), and goes back to `back` — only ever a page of the Center ([`local_page`]), so the
//! switch is no open redirect.
//!
//! A GET that changes an account is safe here: the session cookie is `SameSite=Strict`, so a
//! link from another site arrives without it and can change at most the cookie of the
//! language — which the reader sees and switches back.

use axum::extract::{Query, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Lang;
use crate::center::error::CenterError;
use crate::center::extract::Reader;
use crate::state::AppState;
use crate::store::center;

/// Where the switch goes back to when the page it was on cannot be named.
pub(super) const FALLBACK: &str = "/c/signin";
/// The longest `back` accepted (the Center's own paths are well under it).
const MAX_BACK: usize = 512;

/// `back` when it is a page of the Center: a path under `/c/` or `/m/`, of the characters the
/// Center's own paths and queries use, without `..` (plain or percent-encoded). Nothing else
/// — another host (`//`, `/\`, a scheme), a header break, a long string — gets through.
pub(super) fn local_page(back: &str) -> Option<&str> {
    let lower = back.to_ascii_lowercase();
    let ok = back.len() <= MAX_BACK
        && (back.starts_with("/c/") || back.starts_with("/m/"))
        && back.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~?=&%".contains(&b))
        && !back.contains("..")
        && !lower.contains("%2e")
        && !back.contains("//");
    ok.then_some(back)
}

/// The page a request's switch goes back to: the page itself for a GET; for a form post,
/// the page the form is on (the post's own address may not be a page).
pub(super) fn back_of(method: &Method, uri: &Uri) -> String {
    let path = uri.path();
    let page = if method == Method::GET || method == Method::HEAD {
        if path == "/c/language" {
            return FALLBACK.into();
        }
        uri.path_and_query().map_or(path, |p| p.as_str()).to_string()
    } else {
        page_of_form(path)
    };
    local_page(&page).or_else(|| local_page(path)).unwrap_or(FALLBACK).to_string()
}

/// The page a form posted to `path` is on.
fn page_of_form(path: &str) -> String {
    let (first, rest) = match path.trim_start_matches('/').split_once('/') {
        Some((a, b)) => (a, b),
        None => return FALLBACK.into(),
    };
    match (first, rest.split_once('/')) {
        // /m/{link}/code, /verify, /signin: the link's first page.
        ("m", Some((link, _))) => format!("/c/open/{link}"),
        ("c", Some(("preferences", _))) => "/c/preferences".into(),
        ("c", Some(("reset", _))) => "/c/reset".into(),
        ("c", Some(("file" | "recall", link))) => format!("/c/read/{link}"),
        ("c", None) if rest == "signout" => FALLBACK.into(),
        // The sign-in, password, unlock and reply forms are pages at their own address.
        _ => path.to_string(),
    }
}

/// The switch's link to `lang`, back to `back`.
pub(super) fn href(lang: Lang, back: &str) -> String {
    let query = serde_urlencoded::to_string([("lang", lang.code()), ("back", back)]);
    format!("/c/language?{}", query.unwrap_or_default())
}

#[derive(Deserialize)]
pub(crate) struct Switch {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

/// `GET /c/language`: the reader chooses `lang`; back to `back`.
pub(crate) async fn switch(
    State(state): State<AppState>,
    jar: CookieJar,
    reader: Option<Reader>,
    Query(q): Query<Switch>,
) -> Result<Response, CenterError> {
    let (Some(lang), Some(back)) = (Lang::from_code(&q.lang), local_page(&q.back)) else {
        return Err(CenterError::NotHere);
    };
    if let Some(Reader(me)) = reader {
        // Kept only by an account (an address with a password); a session from a mailed
        // code alone has none, and the cookie is all there is.
        center::set_language(&state.db, &me.email, Some(lang.code())).await?;
    }
    Ok((jar.add(super::cookie(lang)), Redirect::to(back)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_the_center_are_gone_back_to() {
        for good in
            ["/c/mail/inbox", "/c/reply/abc123?draft=5&all=1", "/m/abc", "/c/signin?ended=1"]
        {
            assert_eq!(local_page(good), Some(good));
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/c/",
            "/\\evil.example",
            "/c/\\evil",
            "/c//evil.example",
            "javascript:alert(1)",
            "/admin",
            "/c/../admin",
            "/c/%2E%2E/admin",
            "/c/x\r\nSet-Cookie: a=b",
            "/c/ä",
            "",
        ] {
            assert_eq!(local_page(bad), None, "{bad:?}");
        }
        assert_eq!(local_page(&format!("/c/{}", "a".repeat(600))), None);
    }

    #[test]
    fn a_form_post_switches_back_to_the_page_it_is_on() {
        let post = |p: &str| back_of(&Method::POST, &p.parse().expect("uri"));
        assert_eq!(post("/m/abc/verify"), "/c/open/abc");
        assert_eq!(post("/c/preferences/totp/begin"), "/c/preferences");
        assert_eq!(post("/c/reset/confirm"), "/c/reset");
        assert_eq!(post("/c/file/abc"), "/c/read/abc");
        assert_eq!(post("/c/signout"), "/c/signin");
        assert_eq!(post("/c/reply/abc"), "/c/reply/abc");
        let get = |p: &str| back_of(&Method::GET, &p.parse().expect("uri"));
        assert_eq!(get("/c/reply/abc?all=1"), "/c/reply/abc?all=1");
        assert_eq!(get("/c/read/abc?x=a+b"), "/c/read/abc", "an odd query is left out");
        assert_eq!(get("/c/language?lang=de&back=/c/x"), "/c/signin");
    }

    #[test]
    fn the_switch_link_carries_its_way_back_encoded() {
        assert_eq!(
            href(Lang::De, "/c/reply/abc?all=1"),
            "/c/language?lang=de&back=%2Fc%2Freply%2Fabc%3Fall%3D1"
        );
    }
}
