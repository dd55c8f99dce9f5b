//! The notification stub: what leaves over SMTP in place of the message. It carries the link
//! and the tenant's wording, and never any content of the message (the subject only where the
//! tenant's policy allows it).

use sealpost_policy::Policy;
use serde::Serialize;

use crate::store::branding::Branding;

/// The stub, in the forms a mail client needs.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Stub {
    /// Subject line of the stub.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (no remote content, no script, inline styles only).
    pub html: String,
}

/// Builds the stub for a message: with the sender's address when the sender's own mail client
/// sends it, without (`None`) when the platform does; in the organisation's branding
/// (`brand`: its name above the text and on the button's colour), when it has one.
pub fn build(
    policy: &Policy,
    brand: Option<&Branding>,
    original_subject: &str,
    sender: Option<&str>,
    link: &str,
) -> Stub {
    let shown_subject = if policy.stub_keeps_subject { original_subject } else { "" };
    let subject = policy.stub_subject.replace("{subject}", shown_subject).trim().to_string();
    let subject = if subject.is_empty() { "Secure message".to_string() } else { subject };
    let from_text = sender.map(|s| format!("From: {s}\n\n")).unwrap_or_default();
    let from_html = sender.map(|s| format!("<p>From: {}</p>", escape(s))).unwrap_or_default();
    let signature = match brand {
        Some(b) => format!("Sent by {} with Sealpost secure messaging.", b.display_name),
        None => "Sent with Sealpost secure messaging.".to_string(),
    };
    let text = format!(
        "{intro}\n\n{from_text}Open the secure message:\n{link}\n\n-- \n{signature}\n",
        intro = policy.stub_intro,
    );
    // The colour is `#rrggbb`, checked when it was set (`crate::branding`).
    let (banner, button) = match brand {
        Some(b) => (
            format!(
                "<p style=\"background:{c};color:#fff;padding:8px 12px;font-weight:bold\">{n}</p>",
                c = b.colour,
                n = escape(&b.display_name)
            ),
            format!(
                "display:inline-block;padding:8px 16px;background:{};color:#fff;\
                 text-decoration:none;font-weight:bold",
                b.colour
            ),
        ),
        None => (String::new(), "font-weight:bold".to_string()),
    };
    let html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">{banner}\
         <p>{intro}</p>{from_html}\
         <p><a href=\"{link}\" style=\"{button}\">Open the secure message</a></p>\
         <p style=\"color:#555;font-size:small\">{signature}</p>\
         </body></html>",
        intro = escape(&policy.stub_intro),
        link = escape(link),
        signature = escape(&signature),
    );
    Stub { subject, text, html }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stub_carries_the_link_and_escapes_what_it_shows() {
        let mut p = Policy::default();
        let s =
            build(&p, None, "Q3 <figures>", Some("alice@example.com"), "https://sp.example/m/abc");
        assert_eq!(s.subject, "Secure message: Q3 <figures>");
        assert!(s.text.contains("https://sp.example/m/abc"));
        assert!(s.html.contains("Open the secure message") && !s.html.contains("<figures>"));
        p.stub_keeps_subject = false;
        let s =
            build(&p, None, "Merger plans", Some("alice@example.com"), "https://sp.example/m/abc");
        assert!(!s.subject.contains("Merger"), "{}", s.subject);
    }

    #[test]
    fn a_branded_stub_shows_the_organisation_and_its_colour() {
        let brand = Branding {
            display_name: "Acme <Corp>".into(),
            colour: "#1f4e79".into(),
            has_logo: false,
            updated_at: 0,
        };
        let s = build(&Policy::default(), Some(&brand), "Q3", None, "https://sp.example/m/abc");
        assert!(s.html.contains("background:#1f4e79"), "{}", s.html);
        assert!(s.html.contains("Acme &lt;Corp&gt;") && !s.html.contains("<Corp>"));
        assert!(s.text.contains("Sent by Acme <Corp> with Sealpost"), "{}", s.text);
    }
}
