//! Images embedded in a message's HTML as `data:` URLs become parts of the envelope.
//!
//! A mail client sends an inline picture as a part of multipart/related with a Content-ID the
//! HTML refers to as `cid:` (those arrive as attachments with a Content-ID already, see
//! [`crate::mime`]); some write it into the HTML itself as a `data:` URL instead. The Message
//! Center shows only `cid:` images (type-checked, size-bounded, never remote), so each
//! distinct `data:` image of an `<img src>` is taken out as a part with a Content-ID of its
//! own, and the HTML refers to it by `cid:` — the shape the Thunderbird extension gives a
//! pasted picture (`thunderbird-extension/src/inline.js`).
//!
//! The `<img>` elements are found with html5ever's tokenizer (attribute values decoded as a
//! browser would); the HTML itself is kept as written and only each image's URL text is
//! replaced. A URL written with character references (never seen in a real `data:` URL) is
//! not found in the text and stays as it is: the Center then shows nothing for it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use base64::Engine;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::error::{HelperError, Result};

/// More embedded images than any mail has: the bound on work for a hostile body.
pub const MAX_EMBEDDED_IMAGES: usize = 500;

/// The most distinct `data:` sources looked at (decodable or not): bounds the work on a body
/// of nothing but tiny `data:` images.
const MAX_CANDIDATES: usize = 4 * MAX_EMBEDDED_IMAGES;

/// One image taken out of the HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedImage {
    /// The URL's `filename` parameter, or `image<N>.<ext>`.
    pub name: String,
    /// The URL's media type (`image/…`).
    pub content_type: String,
    /// Without `<>`; the HTML says `cid:` followed by it.
    pub content_id: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// The HTML with each embedded image referred to by `cid:`, and the images (one per distinct
/// URL, in order of first use). `html` comes back as it was when it embeds nothing.
pub fn take_embedded_images(html: String) -> Result<(String, Vec<EmbeddedImage>)> {
    if !html.contains("data:") {
        return Ok((html, Vec::new()));
    }
    let mut images: Vec<EmbeddedImage> = Vec::new();
    let mut replacements = HashMap::new();
    for url in image_sources(&html) {
        let Some((content_type, name, bytes)) = decode(&url) else {
            continue;
        };
        if images.len() == MAX_EMBEDDED_IMAGES {
            return Err(HelperError::Message(format!(
                "the message embeds more than {MAX_EMBEDDED_IMAGES} images"
            )));
        }
        let number = images.len() + 1;
        let content_id = format!("{}@sealpost.invalid", random_id()?);
        replacements.insert(url, format!("cid:{content_id}"));
        let extension =
            content_type.strip_prefix("image/").unwrap_or("img").replace("svg+xml", "svg");
        images.push(EmbeddedImage {
            name: name.unwrap_or_else(|| format!("image{number}.{extension}")),
            content_type,
            content_id,
            bytes,
        });
    }
    let (html, replaced) = replace_urls(&html, &replacements);
    // A URL not found as written (character references in it) keeps its data: source and
    // is not a part: only images the HTML now refers to travel.
    images.retain(|i| replaced.contains(format!("cid:{}", i.content_id).as_str()));
    Ok((html, images))
}

/// `html` with each `data:` URL that is a key of `replacements` replaced by its value, in one
/// pass (linear in the HTML, however many images): a URL ends where its attribute value does
/// (a quote, `>` or white space).
fn replace_urls<'a>(
    html: &str,
    replacements: &'a HashMap<String, String>,
) -> (String, HashSet<&'a str>) {
    let mut replaced = HashSet::new();
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    for start in memchr::memmem::find_iter(html.as_bytes(), b"data:") {
        if start < copied {
            continue;
        }
        let len = html[start..]
            .find(|c: char| c == '"' || c == '\'' || c == '>' || c.is_ascii_whitespace())
            .unwrap_or(html.len() - start);
        if let Some(cid) = replacements.get(&html[start..start + len]) {
            out.push_str(&html[copied..start]);
            out.push_str(cid);
            replaced.insert(cid.as_str());
            copied = start + len;
        }
    }
    out.push_str(&html[copied..]);
    (out, replaced)
}

/// The distinct `src` values of `<img>` elements that start with `data:`, in order; at most
/// [`MAX_CANDIDATES`] (a body with more is refused by the image limit anyway).
fn image_sources(html: &str) -> Vec<String> {
    #[derive(Default)]
    struct Sources(RefCell<(Vec<String>, HashSet<String>)>);
    impl TokenSink for Sources {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == TagKind::StartTag
                && &*tag.name == "img"
                && let Some(src) = tag.attrs.iter().find(|a| &*a.name.local == "src")
            {
                let value = src.value.trim();
                let (order, seen) = &mut *self.0.borrow_mut();
                if order.len() < MAX_CANDIDATES
                    && value.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("data:"))
                    && seen.insert(value.to_string())
                {
                    order.push(value.to_string());
                }
            }
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Sources::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take().0
}

/// Media type, `filename` parameter and bytes of a base64 image `data:` URL (RFC 2397), or
/// `None` for anything else (not an image, not base64, not decodable).
fn decode(url: &str) -> Option<(String, Option<String>, Vec<u8>)> {
    let (head, data) = url.split_once(',')?;
    let mut params = head.get(5..)?.split(';').map(str::trim);
    let content_type = params.next()?.to_ascii_lowercase();
    let subtype = content_type.strip_prefix("image/")?;
    if subtype.is_empty()
        || !subtype.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    {
        return None;
    }
    let params: Vec<&str> = params.collect();
    if !params.last()?.eq_ignore_ascii_case("base64") {
        return None;
    }
    let name = params.iter().find_map(|p| {
        let (key, value) = p.split_once('=')?;
        let value = percent_decode(value.trim());
        key.trim().eq_ignore_ascii_case("filename").then_some(value).filter(|v| !v.is_empty())
    });
    let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).ok()?;
    Some((content_type, name, bytes))
}

/// `%XX` escapes of a URL parameter undone (what `decodeURIComponent` does for a file name);
/// the text as it is when that is not UTF-8.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| HelperError::Config("no randomness for a Content-ID".into()))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really";

    fn url(params: &str) -> String {
        format!(
            "data:image/png{params};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(PNG)
        )
    }

    #[test]
    fn each_distinct_data_image_becomes_a_part_and_the_html_refers_to_it_by_cid() {
        let logo = url(";filename=logo%20small.png");
        let html = format!(
            r#"<p>A <img src="{pasted}" alt="x"> B <IMG SRC='{logo}'> C <img src="{pasted}"></p>
               <p>data: in text stays, <a href="{pasted}">a link too</a></p>"#,
            pasted = url("")
        );
        let (out, images) = take_embedded_images(html).expect("taken");
        assert_eq!(images.len(), 2, "{images:?}");
        assert_eq!(images[0].name, "image1.png");
        assert_eq!(images[1].name, "logo small.png");
        assert!(images.iter().all(|i| i.bytes == PNG && i.content_type == "image/png"));
        assert_eq!(out.matches(&format!("cid:{}", images[0].content_id)).count(), 3, "{out}");
        assert_eq!(out.matches(&format!("cid:{}", images[1].content_id)).count(), 1, "{out}");
        assert!(!out.contains("base64"), "{out}");
        assert!(out.contains("data: in text stays"));
    }

    #[test]
    fn anything_but_a_base64_image_url_is_left_alone() {
        for src in [
            "data:text/html;base64,PHNjcmlwdD4=",
            "data:image/png,%89PNG",
            "data:image/png;base64,@@@not base64@@@",
            "https://example.com/a.png",
            "cid:logo@acme",
        ] {
            let html = format!(r#"<img src="{src}">"#);
            let (out, images) = take_embedded_images(html.clone()).expect("ok");
            assert_eq!((out, images.len()), (html, 0), "{src}");
        }
    }

    #[test]
    fn too_many_embedded_images_are_refused() {
        let html: String = (0..=MAX_EMBEDDED_IMAGES)
            .map(|i| {
                format!(
                    r#"<img src="data:image/gif;base64,{}">"#,
                    base64::engine::general_purpose::STANDARD.encode(i.to_string())
                )
            })
            .collect();
        assert!(take_embedded_images(html).is_err());
    }
}
