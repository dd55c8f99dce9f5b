//! A message after it is sent: where it stands ([`MessageStatus`]), what happened for each
//! recipient ([`recipient_status`]), and the two changes its sender — or an administrator of
//! its organisation — may make: [`recall`] and [`change_expiry`], each recorded in the audit
//! log under whoever made it. The API, the Message Center and the admin console all call
//! these; who may is each caller's check.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::now_ms;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit;
use crate::store::messages::{self as stored, Event, MessageRow};

/// Where a message stands, as its sender sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// The envelope is still arriving.
    Uploading,
    /// Finalised: recipients can open it.
    Sent,
    /// Recalled: nobody can open it any more.
    Recalled,
    /// Past its expiry: nobody can open it any more.
    Expired,
}

impl MessageStatus {
    /// The status of `m` now.
    pub fn of(m: &MessageRow) -> MessageStatus {
        if m.recalled_at.is_some() {
            MessageStatus::Recalled
        } else if m.expires_at.is_some_and(|t| t <= now_ms()) {
            MessageStatus::Expired
        } else if m.is_final() {
            MessageStatus::Sent
        } else {
            MessageStatus::Uploading
        }
    }

    /// Its name on the wire and in pages.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Uploading => "uploading",
            MessageStatus::Sent => "sent",
            MessageStatus::Recalled => "recalled",
            MessageStatus::Expired => "expired",
        }
    }
}

/// One recipient of a message and what has happened for them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecipientStatus {
    /// The address.
    pub email: String,
    /// `to`, `cc` or `bcc`.
    pub kind: String,
    /// When each kind of event first happened for them (ms): `notified`, `sent`, `opened`,
    /// `downloaded`, `replied`.
    pub status: BTreeMap<String, i64>,
}

/// Every recipient of `m` (Bcc included: for its sender and its organisation's
/// administrators only) with what happened for each, and all of `m`'s events, oldest first.
pub async fn recipient_status(
    state: &AppState,
    m: &MessageRow,
) -> Result<(Vec<RecipientStatus>, Vec<Event>), StoreError> {
    let events = stored::events(&state.db, &m.id).await?;
    let recipients = stored::recipients(&state.db, &m.id)
        .await?
        .into_iter()
        .map(|(email, kind)| {
            let mut status = BTreeMap::new();
            for e in events.iter().filter(|e| e.recipient.as_deref() == Some(email.as_str())) {
                status.entry(e.kind.clone()).or_insert(e.at);
            }
            RecipientStatus { email, kind, status }
        })
        .collect();
    Ok((recipients, events))
}

/// Recalls `m`, as `actor`: nobody can open it from now on. False when it was recalled
/// already (nothing is recorded then).
pub async fn recall(state: &AppState, m: &MessageRow, actor: &str) -> Result<bool, StoreError> {
    let recalled = stored::recall(&state.db, &m.id).await?;
    if recalled {
        audit::append(&state.db, Some(m.tenant_id), actor, "message.recalled", &m.id).await?;
    }
    Ok(recalled)
}

/// Sets when `m` expires (`None`: never), as `actor`.
pub async fn change_expiry(
    state: &AppState,
    m: &MessageRow,
    expires_at: Option<i64>,
    actor: &str,
) -> Result<(), StoreError> {
    stored::set_expiry(&state.db, &m.id, expires_at).await?;
    let detail = format!("{} expires_at={expires_at:?}", m.id);
    audit::append(&state.db, Some(m.tenant_id), actor, "message.expiry_changed", &detail).await?;
    Ok(())
}
