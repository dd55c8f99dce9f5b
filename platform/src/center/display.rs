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
//!
//! And the Center's own words for times, slip events and kinds of file, in the reader's
//! language (the words from the catalogue, `super::language`).

use fluent_bundle::FluentValue;

use super::language::{Lang, Phrase};

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

/// A time (ms since the epoch) for people, in `lang` and `zone`, as it relates to `now`
/// (ms): "just now", "12 minutes ago", "today, 09:25", "yesterday, 17:40", "5 Dec, 09:25"
/// this year, else "5 Dec 2026, 09:25" — in German "gerade eben", "vor 12 Minuten",
/// "heute, 09:25", "gestern, 17:40", "5. Dez., 09:25", "5. Dez. 2026, 09:25". The words and
/// their order are the catalogue's (`date-*`, `month-*`); the 24-hour clock is both
/// languages'.
pub(crate) fn date(lang: Lang, ms: i64, zone: &jiff::tz::TimeZone, now: i64) -> String {
    let (Ok(at), Ok(now_at)) =
        (jiff::Timestamp::from_millisecond(ms), jiff::Timestamp::from_millisecond(now))
    else {
        return String::new();
    };
    let minutes = (now - ms) / 60_000;
    if (0..1).contains(&minutes) {
        return lang.text("date-just-now");
    }
    if (1..60).contains(&minutes) {
        return lang.text_with("date-minutes-ago", &[("minutes", minutes.into())]);
    }
    let (local, today) = (at.to_zoned(zone.clone()), now_at.to_zoned(zone.clone()));
    let time = FluentValue::from(local.strftime("%H:%M").to_string());
    let days = today.date().since(local.date()).map(|span| span.get_days()).unwrap_or(i32::MAX);
    let day_and_month = || {
        let month =
            lang.text(MONTHS[usize::from(local.month().unsigned_abs()).saturating_sub(1) % 12]);
        [("day", FluentValue::from(local.day())), ("month", month.into()), ("time", time.clone())]
    };
    match days {
        0 => lang.text_with("date-today", &[("time", time.clone())]),
        1 => lang.text_with("date-yesterday", &[("time", time.clone())]),
        _ if local.year() == today.year() => lang.text_with("date-this-year", &day_and_month()),
        _ => {
            let [day, month, time] = day_and_month();
            let year = ("year", FluentValue::from(local.year().to_string()));
            lang.text_with("date-other-year", &[day, month, year, time])
        }
    }
}

/// The catalogue's short names of the months, January first.
const MONTHS: [&str; 12] = [
    "month-jan",
    "month-feb",
    "month-mar",
    "month-apr",
    "month-may",
    "month-jun",
    "month-jul",
    "month-aug",
    "month-sep",
    "month-oct",
    "month-nov",
    "month-dec",
];

/// A message's own date (its manifest's, as the mail client wrote it: RFC 3339, or RFC 2822
/// as in a `Date:` header) for people, as [`date`] says it; the text as it is when it is
/// neither.
pub(crate) fn message_date(lang: Lang, text: &str, zone: &jiff::tz::TimeZone, now: i64) -> String {
    let parsed = text
        .trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| jiff::fmt::rfc2822::parse(text.trim()).ok().map(|z| z.timestamp()));
    match parsed {
        Some(at) => date(lang, at.as_millisecond(), zone, now),
        None => line(text),
    }
}

/// One event of a delivery slip, in `lang`: what happened (`kind`, as tracking records it:
/// `sent`, `opened` …) and `when` ([`date`]'s words): "opened 12 minutes ago", "geöffnet vor
/// 12 Minuten". A kind the catalogue does not know is shown as it is recorded.
pub(crate) fn event(lang: Lang, kind: &str, when: String) -> String {
    let id = match kind {
        "sent" => "event-sent",
        "notified" => "event-notified",
        "opened" => "event-opened",
        "downloaded" => "event-downloaded",
        "replied" => "event-replied",
        "recalled" => "event-recalled",
        "expired" => "event-expired",
        other => return format!("{other} {when}"),
    };
    lang.text_with(id, &[("when", when.into())])
}

#[cfg(test)]
mod date_tests {
    use super::{Lang, date, event, message_date, zone};

    const MINUTE: i64 = 60_000;

    #[test]
    fn dates_read_as_people_say_them_in_the_readers_zone() {
        // 2026-12-05 09:25 UTC; 10:25 in Berlin.
        let now = 1_796_462_700_000;
        let berlin = zone(Some("Europe/Berlin"));
        let utc = zone(None);
        let en = Lang::En;
        assert_eq!(date(en, now - 20_000, &utc, now), "just now");
        assert_eq!(date(en, now - MINUTE, &utc, now), "1 minute ago");
        assert_eq!(date(en, now - 12 * MINUTE, &utc, now), "12 minutes ago");
        assert_eq!(date(en, now - 2 * 60 * MINUTE, &utc, now), "today, 07:25");
        assert_eq!(date(en, now - 2 * 60 * MINUTE, &berlin, now), "today, 08:25");
        assert_eq!(date(en, now - 24 * 60 * MINUTE, &berlin, now), "yesterday, 10:25");
        assert_eq!(date(en, now - 10 * 24 * 60 * MINUTE, &utc, now), "25 Nov, 09:25");
        assert_eq!(date(en, now - 400 * 24 * 60 * MINUTE, &utc, now), "31 Oct 2025, 09:25");
        assert_eq!(zone(Some("Not/AZone")), zone(None), "an unknown zone reads as UTC");
        // A message's own date, as mail clients write it.
        assert_eq!(message_date(en, "2026-12-05T07:25:00Z", &berlin, now), "today, 08:25");
        assert_eq!(message_date(en, "Sat, 5 Dec 2026 07:25:00 +0000", &utc, now), "today, 07:25");
        assert_eq!(message_date(en, "sometime", &utc, now), "sometime");
    }

    #[test]
    fn in_german_too() {
        let now = 1_796_462_700_000;
        let berlin = zone(Some("Europe/Berlin"));
        let de = Lang::De;
        assert_eq!(date(de, now - 20_000, &berlin, now), "gerade eben");
        assert_eq!(date(de, now - MINUTE, &berlin, now), "vor 1 Minute");
        assert_eq!(date(de, now - 12 * MINUTE, &berlin, now), "vor 12 Minuten");
        assert_eq!(date(de, now - 2 * 60 * MINUTE, &berlin, now), "heute, 08:25");
        assert_eq!(date(de, now - 24 * 60 * MINUTE, &berlin, now), "gestern, 10:25");
        assert_eq!(date(de, now - 10 * 24 * 60 * MINUTE, &berlin, now), "25. Nov., 10:25");
        assert_eq!(date(de, now - 270 * 24 * 60 * MINUTE, &berlin, now), "10. März, 10:25");
        assert_eq!(date(de, now - 400 * 24 * 60 * MINUTE, &berlin, now), "31. Okt. 2025, 10:25");
        assert_eq!(event(de, "opened", "vor 12 Minuten".into()), "geöffnet vor 12 Minuten");
        assert_eq!(event(Lang::En, "opened", "12 minutes ago".into()), "opened 12 minutes ago");
    }
}

/// What kind of file an attachment is, in words (a message of the catalogue), from its media
/// type and else its name's extension ("PDF document"; "File" when neither says).
pub(crate) fn kind_of(name: &str, content_type: &str) -> Phrase {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    Phrase(match (media.as_str(), extension.as_str()) {
        ("application/pdf", _) | (_, "pdf") => "kind-pdf",
        (m, _) if m.starts_with("image/") => "kind-image",
        (_, "png" | "jpg" | "jpeg" | "gif" | "webp" | "heic") => "kind-image",
        (m, _) if m.starts_with("video/") => "kind-video",
        (m, _) if m.starts_with("audio/") => "kind-audio",
        (_, "doc" | "docx" | "odt" | "rtf") => "kind-word",
        (_, "xls" | "xlsx" | "ods") => "kind-spreadsheet",
        (_, "csv") | ("text/csv", _) => "kind-csv",
        (_, "ppt" | "pptx" | "odp") => "kind-presentation",
        (_, "zip" | "7z" | "gz" | "tgz" | "rar") | ("application/zip", _) => "kind-archive",
        (_, "txt") | ("text/plain", _) => "kind-text",
        (_, "eml") | ("message/rfc822", _) => "kind-email",
        (_, "exe" | "msi" | "bat" | "cmd" | "js" | "vbs" | "ps1" | "scr") => "kind-program",
        _ => "kind-file",
    })
}

#[cfg(test)]
mod kind_tests {
    use super::{Lang, kind_of};

    #[test]
    fn attachments_are_named_by_kind_from_type_or_extension() {
        let said = |name, kind| Lang::En.text(kind_of(name, kind).0);
        assert_eq!(said("report.PDF", "application/octet-stream"), "PDF document");
        assert_eq!(said("scan", "image/png"), "Image");
        assert_eq!(said("figures.xlsx", "application/octet-stream"), "Spreadsheet");
        assert_eq!(said("invoice.pdf.exe", "application/octet-stream"), "Program");
        assert_eq!(said("blob", "application/octet-stream"), "File");
        assert_eq!(Lang::De.text(kind_of("report.pdf", "").0), "PDF-Dokument");
    }
}
