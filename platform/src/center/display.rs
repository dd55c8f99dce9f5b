//! Text from a sender — subjects, addresses, attachment names — made safe to *show*: HTML
//! escaping (askama's) keeps markup out, and this keeps the text from lying about itself.
//!
//! - Bidirectional controls (U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F,
//!   U+061C) reorder what a reader sees: `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`.
//!   They are removed, and the templates wrap each such text in `<bdi>`, so right-to-left
//!   names still show as written without reordering what is around them.
//! - Other control characters are removed.
//! - A file name longer than [`NAME_CHARS`] is shortened in the middle, keeping its end (the
//!   extension) in view; CSS wraps what remains (`overflow-wrap: anywhere`), so no name
//!   scrolls a phone's screen sideways.

/// The longest attachment name shown whole, in characters.
pub(super) const NAME_CHARS: usize = 80;

/// Whether `c` reorders text (a bidirectional embedding, override, isolate or mark).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` without bidirectional or other control characters.
pub(crate) fn line(text: &str) -> String {
    text.chars().filter(|c| !is_bidi_control(*c) && !c.is_control()).collect()
}

/// An attachment's name as shown: [`line()`], and shortened in the middle when longer than
/// [`NAME_CHARS`], so its end (the extension) stays visible.
pub(crate) fn file_name(name: &str) -> String {
    let clean = line(name);
    let chars: Vec<char> = clean.chars().collect();
    if chars.len() <= NAME_CHARS {
        return clean;
    }
    let tail = 24;
    let head: String = chars[..NAME_CHARS - tail - 1].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{head}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_and_control_characters_are_removed() {
        assert_eq!(line("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(line("a\u{2066}b\u{2069}c\u{200F}\u{061C}"), "abc");
        assert_eq!(line("Re: Q3\r\n\0"), "Re: Q3");
        assert_eq!(line("עברית and English"), "עברית and English", "letters stay");
    }

    #[test]
    fn long_names_are_shortened_in_the_middle_keeping_the_extension() {
        let name = format!("{}.pdf", "x".repeat(251));
        let shown = file_name(&name);
        assert_eq!(shown.chars().count(), NAME_CHARS);
        assert!(shown.ends_with("xxxx.pdf") && shown.contains('…'), "{shown}");
        assert_eq!(file_name("report Q3.pdf"), "report Q3.pdf");
    }
}
