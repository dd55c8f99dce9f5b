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

/// What kind of file an attachment is, in words, from its media type and else its name's
/// extension ("PDF document"; "File" when neither says).
pub(crate) fn kind_of(name: &str, content_type: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match (media.as_str(), extension.as_str()) {
        ("application/pdf", _) | (_, "pdf") => "PDF document",
        (m, _) if m.starts_with("image/") => "Image",
        (_, "png" | "jpg" | "jpeg" | "gif" | "webp" | "heic") => "Image",
        (m, _) if m.starts_with("video/") => "Video",
        (m, _) if m.starts_with("audio/") => "Audio",
        (_, "doc" | "docx" | "odt" | "rtf") => "Word document",
        (_, "xls" | "xlsx" | "ods") => "Spreadsheet",
        (_, "csv") | ("text/csv", _) => "Spreadsheet (CSV)",
        (_, "ppt" | "pptx" | "odp") => "Presentation",
        (_, "zip" | "7z" | "gz" | "tgz" | "rar") | ("application/zip", _) => "Archive",
        (_, "txt") | ("text/plain", _) => "Text",
        (_, "eml") | ("message/rfc822", _) => "Email message",
        (_, "exe" | "msi" | "bat" | "cmd" | "js" | "vbs" | "ps1" | "scr") => "Program",
        _ => "File",
    }
}

#[cfg(test)]
mod kind_tests {
    use super::kind_of;

    #[test]
    fn attachments_are_named_by_kind_from_type_or_extension() {
        assert_eq!(kind_of("report.PDF", "application/octet-stream"), "PDF document");
        assert_eq!(kind_of("scan", "image/png"), "Image");
        assert_eq!(kind_of("figures.xlsx", "application/octet-stream"), "Spreadsheet");
        assert_eq!(kind_of("invoice.pdf.exe", "application/octet-stream"), "Program");
        assert_eq!(kind_of("blob", "application/octet-stream"), "File");
    }
}
