//! An organisation's branding: the display name, colour and logo recipients see — in the
//! Message Center's pages of the organisation's messages, in its stubs, and as the sender's
//! name on the platform's mail for it. The rules for what is accepted live here, one owner:
//!
//! - the name: a display name as members' are (`domain::display_name`);
//! - the colour: `#rrggbb`, dark enough that white text on it keeps WCAG AA's 4.5:1 contrast
//!   (the header's text is white), so no organisation can make its pages unreadable;
//! - the logo: PNG or JPEG (recognised by its first bytes, whatever the file was called), at
//!   most [`MAX_LOGO_BYTES`]. Never SVG: an SVG is a document that can carry script.
//!
//! The colour is the only value that reaches a `style` attribute, and only after this check.

use crate::store::branding::Branding;

/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 100 * 1024;

/// The display name, trimmed, or what is wrong with it (`domain::display_name`'s rule).
pub fn check_name(name: &str) -> Result<String, String> {
    crate::domain::display_name(name)
}

/// The colour as `#rrggbb` (lowercase), or what is wrong with it.
pub fn check_colour(colour: &str) -> Result<String, String> {
    let c = colour.trim().to_ascii_lowercase();
    let hex =
        c.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex) = hex else {
        return Err(format!("\"{}\" is not a colour like #1f4e79", colour.trim()));
    };
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    let ratio = contrast_with_white(channel(0), channel(2), channel(4));
    if ratio < 4.5 {
        return Err(format!(
            "{c} is too light: white text on it has a contrast of {ratio:.1}:1, and pages need 4.5:1"
        ));
    }
    Ok(c)
}

/// WCAG 2's contrast ratio of white against the colour `(r, g, b)`.
fn contrast_with_white(r: u8, g: u8, b: u8) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    1.05 / (luminance + 0.05)
}

/// The logo's media type (`image/png` or `image/jpeg`), or what is wrong with it.
pub fn logo_type(bytes: &[u8]) -> Result<&'static str, String> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!("the logo is larger than {} KiB", MAX_LOGO_BYTES / 1024));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else {
        Err("the logo must be a PNG or JPEG image".into())
    }
}

/// What pages show of an organisation's branding.
#[derive(Clone, Debug)]
pub struct Look {
    /// The display name.
    pub name: String,
    /// The header's colour, checked.
    pub colour: String,
    /// The logo's address, if there is a logo.
    pub logo_url: Option<String>,
}

impl Look {
    /// What the pages of tenant `tenant`'s messages show.
    pub fn of(tenant: i64, b: &Branding) -> Look {
        Look {
            name: b.display_name.clone(),
            colour: b.colour.clone(),
            logo_url: b.has_logo.then(|| format!("/c/brand/{tenant}/logo?v={}", b.updated_at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_must_keep_white_text_readable() {
        assert_eq!(check_colour(" #1F4E79 ").as_deref(), Ok("#1f4e79"));
        assert!(check_colour("#000000").is_ok());
        let light = check_colour("#ffcc00").expect_err("too light");
        assert!(light.contains("too light"), "{light}");
        for bad in ["1f4e79", "#1f4e7", "#1f4e79; background: url(x)", "red", "#ggg000"] {
            assert!(check_colour(bad).is_err(), "{bad}");
        }
        // WCAG's own example: #767676 on white is 4.54:1.
        assert!(check_colour("#767676").is_ok() && check_colour("#777777").is_err());
    }

    #[test]
    fn logos_are_png_or_jpeg_by_their_bytes_and_small() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\n...."), Ok("image/png"));
        assert_eq!(logo_type(&[0xff, 0xd8, 0xff, 0xe0]), Ok("image/jpeg"));
        assert!(logo_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>").is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(logo_type(&big).is_err());
    }

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(check_name("  Acme Corp ").as_deref(), Ok("Acme Corp"));
        assert!(check_name("").is_err() && check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(81)).is_err());
    }
}
