//! The send pipeline's delivery half: whom to seal for (before sealing starts), then create the
//! delivery slip, upload, finalise; and, once the mail client has sent the stub, mark it sent.

use sealpost_envelope::{MessageId, PublicKey, StanzaRole};
use sealpost_policy::Policy;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::composer::Wraps;
use super::details::MessageDetails;
use super::sealed::SealedEnvelope;
use crate::client::{DeliverySlip, Finalised, PlatformClient, Progress};
use crate::error::{HelperError, Result};
use crate::sign_in::{Context, SignIn};

/// Everything needed before sealing starts.
#[derive(Debug)]
pub struct Prepared {
    /// The sign-in.
    pub sign_in: SignIn,
    /// A signed-in client.
    pub client: PlatformClient,
    /// The keys to seal for.
    pub wraps: Wraps,
    /// The tenant policy.
    pub policy: Policy,
}

/// A message unlock code: recipients must give it (after their one-time code) before they can
/// read the message, and the sender passes it on out of band. Checked here against the
/// platform's rule (6 to 64 characters, outer spaces ignored) so that a bad one fails before
/// anything is sealed or uploaded; kept only in memory, wiped when dropped.
#[derive(Clone)]
pub struct UnlockCode(Zeroizing<String>);

impl UnlockCode {
    /// The platform's bounds, in characters.
    pub const CHARS: std::ops::RangeInclusive<usize> = 6..=64;

    /// `code` without its outer spaces, or a clear error when its length is out of bounds.
    pub fn new(code: &str) -> Result<UnlockCode> {
        let code = code.trim();
        if !Self::CHARS.contains(&code.chars().count()) {
            return Err(HelperError::BadRequest(format!(
                "the unlock code must have {} to {} characters",
                Self::CHARS.start(),
                Self::CHARS.end()
            )));
        }
        Ok(UnlockCode(Zeroizing::new(code.to_string())))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UnlockCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnlockCode(…)")
    }
}

/// Checks the sign-in and the platform key, and gathers the keys to seal for: the platform
/// (always), the sender, recipients with registered keys, and the compliance key when policy
/// asks. BCC recipients' keys are not used: a stanza for them would show everyone who can
/// see the envelope that a key holder was copied in secret.
pub async fn prepare(ctx: &Context, details: &MessageDetails) -> Result<Prepared> {
    let (sign_in, client) = ctx.connect().await?;
    if !details.from.trim().eq_ignore_ascii_case(&sign_in.email) {
        return Err(HelperError::WrongSender {
            from: details.from.trim().to_string(),
            signed_in: sign_in.email.clone(),
        });
    }
    let offered = client.platform_key().await?;
    if offered.key_id != sign_in.platform_key.key_id {
        return Err(HelperError::KeyPinMismatch {
            pinned: sign_in.platform_key.key_id.clone(),
            offered: offered.key_id,
        });
    }
    let policy = ctx.policy(Some(&client)).await;
    let mut keys = vec![
        (StanzaRole::Platform, PublicKey::parse(sign_in.platform_key.public_key_pem.as_bytes())?),
        (StanzaRole::Sender, PublicKey::parse(sign_in.own_public_key_pem.as_bytes())?),
    ];
    let visible: Vec<String> = details
        .to
        .iter()
        .chain(&details.cc)
        .map(|a| a.trim().to_lowercase())
        .filter(|a| *a != sign_in.email)
        .collect();
    let lookup = client.lookup(&visible).await?;
    for found in &lookup.keys {
        if !visible.contains(&found.email.to_lowercase()) {
            continue;
        }
        let key = PublicKey::parse(found.public_key_pem.as_bytes())?;
        if !keys.iter().any(|(_, k)| k.key_id() == key.key_id()) {
            keys.push((StanzaRole::Recipient, key));
        }
    }
    if let Some(c) = &lookup.compliance {
        keys.push((StanzaRole::Compliance, PublicKey::parse(c.public_key_pem.as_bytes())?));
    }
    Ok(Prepared { sign_in, client, wraps: Wraps { keys }, policy })
}

/// Creates the delivery slip, uploads the envelope (resuming where the platform stands) and
/// finalises it. Until finalise answers, the message has no link: nothing looks sent.
pub async fn deliver(
    prepared: &Prepared,
    sealed: &SealedEnvelope,
    unlock_code: Option<&UnlockCode>,
    progress: Progress<'_>,
    cancel: &CancellationToken,
) -> Result<Finalised> {
    if sealed.envelope_size() > prepared.policy.max_envelope_bytes {
        return Err(HelperError::QuotaExceeded(format!(
            "{} bytes encrypted; your organisation allows {}",
            sealed.envelope_size(),
            prepared.policy.max_envelope_bytes
        )));
    }
    let d = &sealed.details;
    let id = sealed.id.to_string();
    let slip = DeliverySlip {
        id: id.clone(),
        to: &d.to,
        cc: &d.cc,
        bcc: &d.bcc,
        subject: &d.subject,
        envelope_size: sealed.envelope_size(),
    };
    let status = prepared.client.create_message(&slip).await?;
    if let Some(code) = unlock_code {
        prepared.client.set_unlock_code(&id, code.as_str()).await?;
    }
    prepared.client.upload(&id, sealed, status.received, progress, cancel).await?;
    if cancel.is_cancelled() {
        return Err(HelperError::Cancelled);
    }
    let finalised = prepared.client.finalise(&id).await?;
    tracing::info!(message = %id, envelope_size = sealed.envelope_size(), "message uploaded and finalised");
    Ok(finalised)
}

/// The mail client sent the stub over SMTP: the platform marks every recipient "sent".
pub async fn mark_sent(ctx: &Context, id: MessageId) -> Result<()> {
    let (_, client) = ctx.connect().await?;
    client.mark_sent(&id.to_string()).await
}

/// The mail client could not send the stub of a finalised message and will not: nobody may
/// open it (the Outlook add-in, when Outlook refuses to turn the item into the stub).
pub async fn recall(ctx: &Context, id: MessageId) -> Result<()> {
    let (_, client) = ctx.connect().await?;
    client.recall(&id.to_string()).await
}
