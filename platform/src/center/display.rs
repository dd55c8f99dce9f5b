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

/// The time zone named `name` (an IANA name such as `Europe/Berlin`), UTC when there is none
/// or it is not known.
pub(crate) fn zone(name: Option<&str>) -> jiff::tz::TimeZone {
    name.and_then(|n| jiff::tz::TimeZone::get(n).ok()).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Whether `name` is a time zone the Center knows.
pub(crate) fn is_zone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

/// The time zones a reader may choose from, by name (listed from the database once).
pub(crate) fn zone_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| n.contains('/') && !n.starts_with("Etc/") && !n.starts_with("SystemV/"))
            .collect();
        names.sort();
        names.insert(0, "UTC".into());
        names
    })
}

/// A time (ms since the epoch) for people, in `zone`, as it relates to `now` (ms): "just
/// now", "12 minutes ago", "today, 09:25", "yesterday, 17:40", "5 Dec, 09:25" this year,
/// else "5 Dec 2026, 09:25"; a time zone other than UTC is named by its abbreviation only
/// when it is not today's or yesterday's.
pub(crate) fn date(ms: i64, zone: &jiff::tz::TimeZone, now: i64) -> String {
    let (Ok(at), Ok(now_at)) =
        (jiff::Timestamp::from_millisecond(ms), jiff::Timestamp::from_millisecond(now))
    else {
        return String::new();
    };
    let minutes = (now - ms) / 60_000;
    if (0..1).contains(&minutes) {
        return "just now".into();
    }
    if (1..60).contains(&minutes) {
        return if minutes == 1 { "1 minute ago".into() } else { format!("{minutes} minutes ago") };
    }
    let (local, today) = (at.to_zoned(zone.clone()), now_at.to_zoned(zone.clone()));
    let time = local.strftime("%H:%M").to_string();
    let days = today.date().since(local.date()).map(|span| span.get_days()).unwrap_or(i32::MAX);
    match days {
        0 => format!("today, {time}"),
        1 => format!("yesterday, {time}"),
        _ if local.year() == today.year() => local.strftime("%-d %b, %H:%M").to_string(),
        _ => local.strftime("%-d %b %Y, %H:%M").to_string(),
    }
}

/// A message's own date (its manifest's, as the mail client wrote it: RFC 3339, or RFC 2822
/// as in a `Date:` header) for people, as [`date`] says it; the text as it is when it is
/// neither.
pub(crate) fn message_date(text: &str, zone: &jiff::tz::TimeZone, now: i64) -> String {
    let parsed = text
        .trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::rfc2822::parse(text.trim()).ok().map(|z| z.timestamp()));
    match parsed {
        Some(at) => date(at.as_millisecond(), zone, now),
        None => line(text),
    }
}

#[cfg(test)]
mod date_tests {
    use super::{date, message_date, zone};

    const MINUTE: i64 = 60_000;

    #[test]
    fn dates_read_as_people_say_them_in_the_readers_zone() {
        // 2026-12-05 09:25 UTC; 10:25 in Berlin.
        let now = 1_796_462_700_000;
        let berlin = zone(Some("Europe/Berlin"));
        let utc = zone(None);
        assert_eq!(date(now - 20_000, &utc, now), "just now");
        assert_eq!(date(now - 12 * MINUTE, &utc, now), "12 minutes ago");
        assert_eq!(date(now - 2 * 60 * MINUTE, &utc, now), "today, 07:25");
        assert_eq!(date(now - 2 * 60 * MINUTE, &berlin, now), "today, 08:25");
        assert_eq!(date(now - 24 * 60 * MINUTE, &berlin, now), "yesterday, 10:25");
        assert_eq!(date(now - 10 * 24 * 60 * MINUTE, &utc, now), "25 Nov, 09:25");
        assert_eq!(date(now - 400 * 24 * 60 * MINUTE, &utc, now), "31 Oct 2025, 09:25");
        assert_eq!(zone(Some("Not/AZone")), zone(None), "an unknown zone reads as UTC");
        // A message's own date, as mail clients write it.
        assert_eq!(message_date("2026-12-05T07:25:00Z", &berlin, now), "today, 08:25");
        assert_eq!(message_date("Sat, 5 Dec 2026 07:25:00 +0000", &utc, now), "today, 07:25");
        assert_eq!(message_date("sometime", &utc, now), "sometime");
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
