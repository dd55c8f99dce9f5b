//! What the mail client (or a message file) says about an outgoing message before its bytes
//! arrive: the details that go into the manifest and on the delivery slip, and each
//! attachment's announced name, type and exact size.

use serde::{Deserialize, Serialize};

/// What the mail client says about a message: its details and bodies.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDetails {
    /// The sender (`From`), a bare address.
    pub from: String,
    /// `To` recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// `Bcc` recipients (on the delivery slip only, never in the envelope).
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// `text/plain` body.
    #[serde(default)]
    pub text: Option<String>,
    /// `text/html` body.
    #[serde(default)]
    pub html: Option<String>,
    /// The RFC 5322 `Message-ID`, when the mail client has one. Named apart from the
    /// Sealpost message id (`message_id` everywhere else in the protocol), which is not this.
    #[serde(default)]
    pub internet_message_id: Option<String>,
    /// When it was written (RFC 3339); now, when not given.
    #[serde(default)]
    pub date: Option<String>,
    /// Further headers to keep (name, value).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// An attachment as announced before its bytes arrive.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInfo {
    /// File name.
    pub name: String,
    /// MIME type.
    #[serde(default = "octet_stream")]
    pub content_type: String,
    /// Exact size in bytes.
    pub size: u64,
    /// `Content-ID` of an inline image.
    #[serde(default)]
    pub content_id: Option<String>,
    /// SHA-256 (lowercase hex), when known before the bytes arrive (a file read twice). With
    /// every attachment's hash known, the envelope can be uploaded while it is being sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

fn octet_stream() -> String {
    "application/octet-stream".into()
}
