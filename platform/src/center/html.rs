//! A message's HTML body made safe to show, at a cost bounded by its size.
//!
//! A sender controls the HTML, and a browser parser's tree building is not linear in every
//! input: html5ever (under ammonia) walks the stack of open elements for many start tags, so
//! 100,000 nested `<div>`s (500 KB) took ~27 s per view, and 10,000 nested `<table>`s logged a
//! warning each. Three rules bound it:
//!
//! 1. **Size**: a body over [`MAX_HTML_BYTES`] is not parsed as HTML (Gmail clips mail at
//!    102 KB; mail clients' HTML rarely passes a few hundred), and one whose sanitised form
//!    grows past [`MAX_SHOWN_BYTES`] — misnested formatting makes the parser repeat elements,
//!    ~5 times the input — is shown as text, so no page is heavy for the reader's browser.
//! 2. **Depth**: before sanitising, one pass of html5ever's *tokenizer* (linear: no tree, no
//!    stack walks) estimates how deeply elements nest. Its estimate never undercounts what
//!    the tree builder keeps open for nesting that matters, so a body that passes costs the
//!    tree builder at most [`MAX_NESTING`] steps per tag. A body that nests deeper is shown
//!    as its text (from the same pass), with a line saying why.
//! 3. **Threads**: the work runs on the blocking pool, at most one job per core at a time
//!    (`renderers`), so the async threads — `/healthz`, every other tenant's requests —
//!    never wait for it, and a burst of such views queues instead of starving the machine.
//! 4. **Once**: a rendered body is kept in memory (never on disk) by its link, up to
//!    [`CACHE_BYTES`], so viewing a message again costs no parsing; the worst body a sender
//!    can build costs one render per link.
//!
//! `bench/src/center.rs` measures the worst bodies found (server time per view, and
//! `/healthz` while they are viewed); `docs/SECURITY.md` records the numbers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use html5ever::LocalName;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use tokio::sync::Semaphore;

/// The largest HTML body shown as HTML (larger ones are shown as text).
pub(super) const MAX_HTML_BYTES: usize = 1 << 20;
/// The largest sanitised HTML shown (a body that grows past it is shown as text).
pub(super) const MAX_SHOWN_BYTES: usize = 2 << 20;
/// The deepest element nesting shown as HTML (mail clients rarely pass 40).
pub(super) const MAX_NESTING: usize = 256;
/// The most text shown for a body that cannot be shown as HTML.
const MAX_TEXT_CHARS: usize = 1 << 20;
/// The most memory rendered bodies are kept in.
pub(super) const CACHE_BYTES: u64 = 64 << 20;

/// What the read page shows of an HTML body.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SafeBody {
    /// Sanitised HTML, ready to embed.
    Html(String),
    /// The body's text only, and why its formatting is not shown.
    Text { text: String, why: &'static str },
}

/// How many bodies are rendered at once: one per core.
fn renderers() -> &'static Semaphore {
    static RENDERERS: OnceLock<Semaphore> = OnceLock::new();
    RENDERERS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// Weighs a rendered body by its size.
#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<String, Arc<SafeBody>> for BySize {
    fn weight(&self, link: &String, body: &Arc<SafeBody>) -> u64 {
        let shown = match &**body {
            SafeBody::Html(h) => h.len(),
            SafeBody::Text { text, .. } => text.len(),
        };
        (link.len() + shown + 64) as u64
    }
}

type Rendered = quick_cache::sync::Cache<String, Arc<SafeBody>, BySize>;

/// Bodies rendered already, by link.
fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| Rendered::with_weighter(4096, CACHE_BYTES, BySize))
}

/// The HTML body of the message behind `link` made safe to show (see [`render`]): rendered
/// once, off the async threads, and kept for later views (`images` — the inline images'
/// URLs — depend on the link, which is why the link is the key).
pub(super) async fn safe_body(
    link: &str,
    html: String,
    images: HashMap<String, String>,
) -> Arc<SafeBody> {
    if let Some(body) = rendered().get(link) {
        return body;
    }
    let permit = renderers().acquire().await.expect("the renderers' semaphore is never closed");
    // Another view of the link may have rendered it while this one waited.
    if let Some(body) = rendered().get(link) {
        return body;
    }
    let body = match tokio::task::spawn_blocking(move || render(&html, images)).await {
        Ok(body) => Arc::new(body),
        Err(e) => {
            tracing::error!(error = %e, "rendering a message body failed");
            return Arc::new(SafeBody::Text { text: String::new(), why: CANNOT_SHOW });
        }
    };
    drop(permit);
    rendered().insert(link.to_string(), body.clone());
    body
}

const TOO_LARGE: &str = "This message's formatting is too large to show; here is its text.";
const TOO_DEEP: &str = "This message's formatting is nested too deeply to show; here is its text.";
const CANNOT_SHOW: &str = "This message's formatting cannot be shown.";

/// `html` sanitised, or its text when it is too large or nests too deeply (see the module
/// doc). Time and memory are linear in `html.len()`.
pub(super) fn render(html: &str, images: HashMap<String, String>) -> SafeBody {
    if html.len() > MAX_HTML_BYTES {
        return SafeBody::Text { text: scan(html).text, why: TOO_LARGE };
    }
    let scanned = scan(html);
    if scanned.deepest > MAX_NESTING {
        return SafeBody::Text { text: scanned.text, why: TOO_DEEP };
    }
    let clean = sanitise(html, images);
    if clean.len() > MAX_SHOWN_BYTES {
        return SafeBody::Text { text: scanned.text, why: TOO_LARGE };
    }
    SafeBody::Html(clean)
}

/// The message's HTML made safe to show: ammonia's allow-list (no script, no event handlers,
/// no styles that could reach outside), links opened without a referrer, and no remote
/// content — an image only from the message itself: `cid:` sources found in `images`
/// (Content-ID → URL) point there, every other source is dropped. Call it through
/// [`render`], which bounds its cost.
fn sanitise(html: &str, images: HashMap<String, String>) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["https", "http", "mailto", "cid"].into_iter().collect())
        .attribute_filter(move |element, attribute, value| {
            if element == "img" && attribute == "src" {
                let id = value.strip_prefix("cid:")?.trim_start_matches('<').trim_end_matches('>');
                images.get(id).map(|url| url.clone().into())
            } else {
                Some(value.into())
            }
        })
        .clean(html)
        .to_string()
}

/// What one tokenizer pass learns of a body.
struct Scanned {
    /// The deepest nesting of open elements seen (an estimate; see [`Nesting`]).
    deepest: usize,
    /// The text a reader would see, without markup, scripts or styles (capped).
    text: String,
}

fn scan(html: &str) -> Scanned {
    let sink = Nesting::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let sink = tokenizer.sink;
    Scanned { deepest: sink.deepest.get(), text: sink.text.into_inner() }
}

/// Elements that never hold content (no end tag).
const VOID: [&str; 15] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];
/// Block elements whose start tag closes an open `<p>` (`<p>a<div>` is not nesting).
const CLOSES_P: [&str; 25] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "ul",
];
/// How far down the stack a start tag looks for the element it closes.
const CLOSE_SEARCH: usize = 64;

/// The open elements a start tag closes first, as the tree builder's implied end tags do:
/// the nearest one named in the first list, unless one in the second lies above it. So lists,
/// table rows and paragraphs whose end tags are left out (`<li>a<li>b`) do not count as
/// nesting.
fn implied_close(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    const P_SCOPE: &[&str] = &["table", "td", "th", "caption", "button", "object", "template"];
    Some(match name {
        "li" => (&["li"], &["ul", "ol"]),
        "dt" | "dd" => (&["dt", "dd"], &["dl"]),
        "tr" => (&["tr"], &["table", "thead", "tbody", "tfoot"]),
        "td" | "th" => (&["td", "th"], &["tr", "table"]),
        "thead" | "tbody" | "tfoot" => (&["thead", "tbody", "tfoot"], &["table"]),
        "option" => (&["option"], &["select", "datalist"]),
        "p" => (&["p"], P_SCOPE),
        n if CLOSES_P.contains(&n) => (&["p"], P_SCOPE),
        _ => return None,
    })
}
/// Elements whose content the tree builder reads as raw text (it tells the tokenizer so).
const RAW_TEXT: [(&str, RawKind); 9] = [
    ("title", RawKind::Rcdata),
    ("textarea", RawKind::Rcdata),
    ("style", RawKind::Rawtext),
    ("xmp", RawKind::Rawtext),
    ("iframe", RawKind::Rawtext),
    ("noembed", RawKind::Rawtext),
    ("noframes", RawKind::Rawtext),
    ("noscript", RawKind::Rawtext),
    ("script", RawKind::ScriptData),
];

/// A token sink that keeps a stack of open element names, as a tree builder would in its
/// simplest form: a start tag opens (void and self-closed ones excepted; some first close an
/// element, see [`implied_close`]), an end tag closes up to its element when one is open and
/// is ignored otherwise. Every step is O(1) amortised, or O([`CLOSE_SEARCH`]): each name is
/// pushed once and popped once, and `open` counts names so an end tag never searches.
#[derive(Default)]
struct Nesting {
    stack: RefCell<Vec<LocalName>>,
    open: RefCell<HashMap<LocalName, usize>>,
    deepest: Cell<usize>,
    /// Inside raw text (`<script>`, `<style>` …): its characters are not text a reader sees.
    raw: Cell<bool>,
    text: RefCell<String>,
}

impl Nesting {
    fn pop(&self) -> Option<LocalName> {
        let name = self.stack.borrow_mut().pop()?;
        if let Some(n) = self.open.borrow_mut().get_mut(&name) {
            *n -= 1;
        }
        Some(name)
    }

    /// Closes the nearest open element named in `kinds`, and all above it, unless an element
    /// in `boundaries` lies above it (looking at most [`CLOSE_SEARCH`] elements down).
    fn close_nearest(&self, kinds: &[&str], boundaries: &[&str]) {
        let found = {
            let stack = self.stack.borrow();
            stack
                .iter()
                .rev()
                .take(CLOSE_SEARCH)
                .position(|n| kinds.contains(&&**n) || boundaries.contains(&&**n))
                .filter(|i| kinds.contains(&&*stack[stack.len() - 1 - i]))
        };
        for _ in 0..found.map_or(0, |i| i + 1) {
            self.pop();
        }
    }

    fn push_text(&self, s: &str) {
        let mut text = self.text.borrow_mut();
        if !self.raw.get() && text.len() < MAX_TEXT_CHARS {
            let room = MAX_TEXT_CHARS - text.len();
            let end = s.char_indices().map(|(i, _)| i).find(|i| *i >= room).unwrap_or(s.len());
            text.push_str(&s[..end]);
        }
    }
}

impl TokenSink for Nesting {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            if let Token::CharacterTokens(s) = token {
                self.push_text(&s);
            }
            return TokenSinkResult::Continue;
        };
        let name: &str = &tag.name;
        match tag.kind {
            TagKind::StartTag => {
                if matches!(name, "br" | "p" | "div" | "tr" | "li") {
                    self.push_text("\n");
                }
                if VOID.contains(&name) || tag.self_closing {
                    return TokenSinkResult::Continue;
                }
                if let Some((kinds, boundaries)) = implied_close(name)
                    && kinds.iter().any(|k| {
                        self.open.borrow().get(&LocalName::from(*k)).is_some_and(|n| *n > 0)
                    })
                {
                    self.close_nearest(kinds, boundaries);
                }
                *self.open.borrow_mut().entry(tag.name.clone()).or_default() += 1;
                self.stack.borrow_mut().push(tag.name.clone());
                let depth = self.stack.borrow().len();
                self.deepest.set(self.deepest.get().max(depth));
                if let Some((_, kind)) = RAW_TEXT.iter().find(|(n, _)| *n == &*tag.name) {
                    self.raw.set(true);
                    return TokenSinkResult::RawData(*kind);
                }
            }
            TagKind::EndTag => {
                self.raw.set(false);
                let is_open = self.open.borrow().get(&tag.name).is_some_and(|n| *n > 0);
                if is_open {
                    while let Some(popped) = self.pop() {
                        if &*popped == name {
                            break;
                        }
                    }
                }
            }
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(out: SafeBody) -> String {
        match out {
            SafeBody::Html(h) => h,
            other => panic!("expected HTML, got {other:?}"),
        }
    }

    #[test]
    fn sanitising_removes_script_and_remote_content() {
        let images = HashMap::from([("logo@acme".to_string(), "/c/read/t/inline/2".to_string())]);
        let out = html(render(
            r#"<p onclick="x()">Hi<script>alert(1)</script><img src="https://track.example/p.gif"><img src="cid:logo@acme"><img src="cid:unknown"><a href="javascript:alert(1)">j</a><iframe src="https://x"></iframe></p>"#,
            images,
        ));
        assert!(!out.contains("script") && !out.contains("onclick") && !out.contains("iframe"));
        assert!(!out.contains("track.example"), "{out}");
        assert!(out.contains(r#"<img src="/c/read/t/inline/2">"#), "{out}");
        assert!(!out.contains("cid:"), "an unknown cid is dropped: {out}");
        assert!(!out.contains("javascript:"), "{out}");
    }

    #[test]
    fn ordinary_mail_html_is_shown_as_html() {
        // Lists, tables and paragraphs whose end tags are left out do not count as nesting.
        let mut body = String::from("<html><body><table><tbody>");
        for i in 0..2000 {
            body.push_str(&format!("<tr><td>row {i}<td><p>a<p>b<ul><li>x<li>y</ul>"));
        }
        body.push_str("</table><div><div><blockquote>quoted</blockquote></div></div>");
        let out = html(render(&body, HashMap::new()));
        assert!(out.contains("row 1999") && out.contains("quoted"), "{}", &out[..200]);
    }

    #[test]
    fn deep_nesting_is_shown_as_text_without_parsing_it_as_html() {
        let cases = [("<div>", 100_000), ("<table><tr><td>", 50_000), ("<b id=x>", 100_000)];
        for (open, depth) in cases {
            let close = "";
            let body = format!("{}deep text<script>evil()</script>{}", open.repeat(depth), close);
            let started = std::time::Instant::now();
            let SafeBody::Text { text, why } = render(&body, HashMap::new()) else {
                panic!("{open} x {depth} was rendered as HTML");
            };
            assert_eq!(why, TOO_DEEP);
            assert!(text.contains("deep text") && !text.contains("evil"), "{text}");
            // Not a timing assertion on the product: a guard against the quadratic parse
            // (27 s before) sneaking back in, with two orders of magnitude of headroom.
            assert!(started.elapsed().as_secs() < 5, "{open}: {:?}", started.elapsed());
        }
    }

    #[test]
    fn nesting_up_to_the_limit_is_html_and_one_more_is_not() {
        let at = |n: usize| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        assert!(matches!(render(&at(MAX_NESTING), HashMap::new()), SafeBody::Html(_)));
        assert!(matches!(render(&at(MAX_NESTING + 1), HashMap::new()), SafeBody::Text { .. }));
    }

    #[test]
    fn a_body_the_parser_multiplies_is_shown_as_text() {
        // Each paragraph's formatting is reopened in the next: ~5 times the input.
        let unit = "<p><b><i><u><s><a href=\"#\">x</p>";
        let body = unit.repeat(MAX_HTML_BYTES / unit.len());
        let SafeBody::Text { text, why } = render(&body, HashMap::new()) else {
            panic!("a multiplied body was shown as HTML");
        };
        assert_eq!(why, TOO_LARGE);
        assert!(text.starts_with("\nx"), "{}", &text[..20]);
    }

    #[test]
    fn closing_tags_bring_the_depth_back() {
        let body = "<div><span>x</span></div>".repeat(10_000);
        assert!(matches!(render(&body, HashMap::new()), SafeBody::Html(_)));
    }

    #[test]
    fn an_oversized_body_is_shown_as_text() {
        let body = format!("<p>{}</p>", "a".repeat(MAX_HTML_BYTES));
        let SafeBody::Text { text, why } = render(&body, HashMap::new()) else {
            panic!("an oversized body was rendered as HTML");
        };
        assert_eq!(why, TOO_LARGE);
        assert!(text.len() <= MAX_TEXT_CHARS + 4, "{}", text.len());
    }

    #[test]
    fn script_and_style_are_not_part_of_the_text() {
        let s = scan("<style>p{color:red}</style><p>Hello</p><script>if (a<b) x()</script>");
        assert_eq!(s.text.trim(), "Hello");
    }
}
