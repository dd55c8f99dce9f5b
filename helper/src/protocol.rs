//! The native-messaging protocol (see `docs/native-messaging.md`): requests with ids from the
//! mail client, replies and progress events from the helper.
//!
//! Every request is one JSON object with an `id` (number or short string, echoed in the
//! reply) and a `type`. The fields of all request types live in one flat struct so that an
//! attachment piece's base64 `data` is borrowed straight from the frame, not copied; each
//! type then takes what it needs and a missing field is a clear error.

use sealpost_policy::Candidate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::error::HelperError;

use crate::send::{AttachmentInfo, MessageDetails};

/// Protocol version, reported by `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest attachment piece (decoded) the mail client should send; its base64 fits a frame.
/// A *piece* is the native-messaging transfer unit; it has nothing to do with the envelope's
/// 64 KiB *chunks*, which the sealer cuts on its own.
pub const MAX_PIECE_BYTES: usize = 4 << 20;

/// A request id: echoed in replies so the mail client can match them.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum RequestId {
    /// A number.
    Number(u64),
    /// A string (at most 64 characters).
    Text(String),
}

/// Every field any request may carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest<'a> {
    /// Request id.
    pub id: Option<RequestId>,
    /// Request type.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// `status`: ask the platform whether the token still works.
    #[serde(default)]
    pub check: bool,
    /// `sign_in`: platform address.
    pub platform: Option<String>,
    /// `sign_in`: address.
    pub email: Option<String>,
    /// `sign_in`: password.
    pub password: Option<Zeroizing<String>>,
    /// `sign_in`: TOTP code.
    pub totp: Option<String>,
    /// `sign_in`: this device's name.
    pub device: Option<String>,
    /// `classify`: the message as the policy sees it.
    pub candidate: Option<Candidate>,
    /// `classify`: the user's "Send secure" toggle.
    pub toggle: Option<bool>,
    /// `send_begin`: the message.
    pub message: Option<MessageDetails>,
    /// `send_begin`: its attachments.
    pub attachments: Option<Vec<AttachmentInfo>>,
    /// `send_begin`: the message's unlock code, if the sender set one.
    pub unlock_code: Option<Zeroizing<String>>,
    /// `send_piece`, `send_end`, `cancel`: the send id from `send_begin`.
    pub send: Option<String>,
    /// `send_piece`: attachment index (0-based).
    pub attachment: Option<usize>,
    /// `send_piece`: base64 bytes.
    #[serde(borrow)]
    pub data: Option<std::borrow::Cow<'a, str>>,
    /// `mark_sent`: the Sealpost message id (from `send_end`).
    pub message_id: Option<String>,
}

/// Parses a frame into a request, or says what is wrong (with the id when one was readable).
pub fn parse(frame: &[u8]) -> Result<RawRequest<'_>, (Option<RequestId>, HelperError)> {
    let request: RawRequest<'_> = serde_json::from_slice(frame).map_err(|e| {
        // Salvage the id for the error reply, if the frame is at least a JSON object.
        let id = serde_json::from_slice::<Value>(frame)
            .ok()
            .and_then(|v| v.get("id").cloned())
            .and_then(|v| serde_json::from_value(v).ok());
        (id, HelperError::BadRequest(format!("malformed request: {e}")))
    })?;
    if let Some(RequestId::Text(t)) = &request.id
        && t.len() > 64
    {
        return Err((None, HelperError::BadRequest("request id over 64 characters".into())));
    }
    Ok(request)
}

/// Takes a required field or explains which is missing.
pub fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, HelperError> {
    field.ok_or_else(|| HelperError::BadRequest(format!("`{kind}` needs `{name}`")))
}

/// A successful reply: `{"id", "ok": true, "type", …fields}`.
pub fn reply(id: &Option<RequestId>, kind: &str, fields: Value) -> Value {
    let mut v = json!({ "id": id, "ok": true, "type": kind });
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), fields) {
        obj.extend(extra);
    }
    v
}

/// An error reply: `{"id", "ok": false, "type", "error": {"code", "detail", "message"}}`.
pub fn error_reply(id: &Option<RequestId>, kind: Option<&str>, e: &HelperError) -> Value {
    json!({
        "id": id,
        "ok": false,
        "type": kind,
        "error": { "code": e.code(), "detail": e.detail_code(), "message": e.to_string() },
    })
}

/// A progress event for request `id`.
pub fn progress(id: &Option<RequestId>, phase: &str, done: u64, total: u64) -> Value {
    json!({ "id": id, "event": "progress", "phase": phase, "done": done, "total": total })
}
