//! The life of a message on the platform — one way in, whoever wrote it.
//!
//! A sender's helper or add-in (through the API, `routes::messages`) and a recipient replying
//! in the Message Center (`center::reply`) both:
//! 1. [`create`] the message from its [`DeliverySlip`] — checked against the slip's limits and
//!    the tenant's policy (envelope size, default expiry), recorded with its audit entry;
//! 2. [`append`] its envelope, one segment at a time: until the envelope's header is
//!    complete every segment is run through the keyless validator, and the header must
//!    declare the slip's size and the message's id;
//! 3. [`finalise`] it: the header is authenticated with the file key — unwrapped from the
//!    platform's stanza ([`FileKeySource::PlatformStanza`]), or the one the platform made
//!    when it sealed a Center reply itself ([`FileKeySource::Made`]) — the manifest's
//!    metadata is held against the slip, the file key is kept under the tenant's data key,
//!    and the message gets its link.
//!
//!
//! After that, `tracking` holds where a message stands and what happened for each recipient,
//! and the changes made to a sent message (recall, expiry).
//!
//! Who may do each step (a sender's own message, a recipient's session) is the caller's
//! check; what a message must be is this module's.

mod envelope;
pub mod slip;
pub mod tracking;

pub use envelope::{SegmentBody, UploadState, UploadStatus, append};
pub use slip::DeliverySlip;

use sealpost_envelope::{Decryptor, FileKey, Header, Limits, Manifest, PREFIX_LEN, StanzaRole};
use std::collections::BTreeSet;

use crate::blob::BlobStore;
use crate::db::now_ms;
use crate::domain::EmailAddress;
use crate::error::ApiError;
use crate::reading::{file_key_purpose, read_manifest, read_range};
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};
use crate::store::audit;
use crate::store::messages::{self as stored, Created, MessageRow, NewMessage};

/// Who writes a message.
#[derive(Clone, Copy, Debug)]
pub enum Author<'a> {
    /// A member of the tenant, signed in through the API (the helper, the add-in).
    Member(&'a AuthUser),
    /// Someone writing in the Message Center about `original` (one of its recipients):
    /// a reply to it (`reply`), or a new message to its sender.
    Center {
        /// The writer's address.
        email: &'a str,
        /// The message being answered; the new one lives in its tenant.
        original: &'a MessageRow,
        /// A reply (threaded under `original`) rather than a new message.
        reply: bool,
    },
}

impl Author<'_> {
    fn tenant_id(&self) -> i64 {
        match self {
            Author::Member(u) => u.tenant_id,
            Author::Center { original, .. } => original.tenant_id,
        }
    }

    fn email(&self) -> &str {
        match self {
            Author::Member(u) => &u.email,
            Author::Center { email, .. } => email,
        }
    }
}

/// A message created: new, or the same slip created before (a retry).
#[derive(Debug)]
pub struct Opened {
    /// The message.
    pub message: MessageRow,
    /// Whether this call created it.
    pub new: bool,
}

/// Creates a message from `slip` for `author`, idempotently on the slip's id: the same slip
/// again answers with the message as it stands; a different slip under a used id is
/// `id_in_use`.
pub async fn create(
    state: &AppState,
    author: Author<'_>,
    slip: DeliverySlip,
) -> Result<Opened, ApiError> {
    let (_, id) = slip.canonical_id()?;
    slip.check()?;
    let tenant_id = author.tenant_id();
    let policy = accounts::policy(&state.db, tenant_id).await?;
    let limit = policy.max_envelope_bytes.min(state.settings.max_envelope_bytes);
    if slip.envelope_size > limit {
        return Err(ApiError::too_large(format!(
            "the envelope is {} bytes; this organisation allows at most {limit}",
            slip.envelope_size
        )));
    }
    let expires_at = slip.expires_at.or_else(|| {
        (policy.default_expiry_days > 0)
            .then(|| now_ms() + i64::from(policy.default_expiry_days) * 86_400_000)
    });
    let recipients = slip.recipients();
    let subject = slip.subject.clone();
    let slip = DeliverySlip { id: id.clone(), expires_at, ..slip };
    let slip_json = serde_json::to_string(&slip).map_err(ApiError::internal)?;
    let (sender_id, in_reply_to, action, detail) = match author {
        Author::Member(u) => (Some(u.user_id), None, "message.created", id.clone()),
        Author::Center { original, reply, .. } => (
            None,
            reply.then_some(original.id.as_str()),
            "message.replied",
            format!("{id} to {}", original.id),
        ),
    };
    let new = NewMessage {
        id: &id,
        tenant_id,
        sender_id,
        sender_email: author.email(),
        subject: &subject,
        slip: &slip_json,
        recipients: &recipients,
        expires_at,
        in_reply_to,
    };
    let entry =
        audit::Entry { tenant: Some(tenant_id), actor: author.email(), action, detail: &detail };
    match stored::create(&state.db, &new, &entry).await? {
        Created::New(message) => Ok(Opened { message, new: true }),
        Created::Existing(message) => Ok(Opened { message, new: false }),
        Created::Conflict => Err(ApiError::conflict(
            "id_in_use",
            "this message id is already used for a different message; choose a new id",
        )),
    }
}

/// Where the file key of an envelope being finalised comes from.
pub enum FileKeySource {
    /// Unwrapped from the envelope's stanza for the platform's key (a sender sealed it).
    PlatformStanza,
    /// The platform sealed the envelope itself (a Center reply) and kept the key it made.
    Made(FileKey),
}

/// Finalises `m`, whose envelope has arrived whole: authenticates the header with the file
/// key from `source`, holds the manifest's metadata against the delivery slip, keeps the file
/// key under the tenant's data key and gives the message its link. A message already final
/// is answered as it stands (finalising is idempotent, also against a concurrent finalise).
pub async fn finalise(
    state: &AppState,
    m: &MessageRow,
    source: FileKeySource,
) -> Result<MessageRow, ApiError> {
    if m.is_final() {
        return Ok(m.clone());
    }
    let total = match m.envelope_size {
        Some(t) if t == m.received => t,
        _ => {
            return Err(ApiError::conflict(
                "upload_incomplete",
                format!("only {} bytes of the envelope have arrived", m.received),
            )
            .with("received", m.received));
        }
    };
    let limits = Limits { max_total_len: total as u64, ..Limits::default() };

    // Header: authenticated with the file key.
    let segments = stored::segments(&state.db, &m.id).await?;
    let prefix = read_range(state, &m.id, &segments, 0, PREFIX_LEN as i64).await?;
    let header_len = i64::from(Header::peek_len(&prefix, &limits)?);
    let header = Header::parse(read_range(state, &m.id, &segments, 0, header_len).await?, &limits)?;
    let dec = match source {
        FileKeySource::PlatformStanza => {
            let key = platform_key_for(state, &header).await?;
            tokio::task::spawn_blocking(move || Decryptor::new(header, &key))
                .await
                .map_err(ApiError::internal)??
        }
        FileKeySource::Made(key) => Decryptor::with_file_key(header, key)?,
    };
    dec.expect_message(slip::canonical_id(&m.id)?.0)?;

    // Manifest: decrypt part 0 and hold its metadata snapshot against the delivery slip.
    let manifest = read_manifest(state, &m.id, &segments, &dec).await?;
    let slip: DeliverySlip = serde_json::from_str(&m.slip).map_err(ApiError::internal)?;
    check_snapshot(&manifest, &slip, &m.sender_email)?;

    // Keep the file key under the tenant's data key; the platform key is no longer needed.
    let tenant_key = accounts::data_key(&state.db, &state.master, m.tenant_id).await?;
    let sealed = tenant_key
        .seal(&file_key_purpose(&m.id), dec.file_key().expose_secret())
        .map_err(ApiError::internal)?;
    let link_token = BlobStore::new_name();
    let entry = audit::Entry {
        tenant: Some(m.tenant_id),
        actor: &m.sender_email,
        action: "message.finalised",
        detail: &m.id,
    };
    match stored::finalise(&state.db, &m.id, &sealed, &link_token, &entry).await? {
        Some(m) => {
            metrics::counter!("sealpost_messages_finalised_total").increment(1);
            Ok(m)
        }
        // A concurrent finalise won; answer as it did.
        None => stored::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message")),
    }
}

/// The platform key the header names in a platform stanza (reloading the keys once, for a
/// key rotated on another node).
async fn platform_key_for(
    state: &AppState,
    header: &Header,
) -> Result<std::sync::Arc<sealpost_envelope::PrivateKey>, ApiError> {
    let named: Vec<_> = header
        .stanzas()
        .iter()
        .filter(|s| s.role == StanzaRole::Platform)
        .map(|s| s.key_id)
        .collect();
    let loaded = {
        let keys = state.keys.read().await;
        named.iter().find_map(|id| keys.get(id).cloned())
    };
    if let Some(k) = loaded {
        return Ok(k);
    }
    let (fresh, _) = crate::store::platform_keys::load_or_create(
        &state.db,
        &state.master,
        state.settings.platform_key_bits,
    )
    .await?;
    let found = named.iter().find_map(|id| fresh.get(id).cloned());
    *state.keys.write().await = fresh;
    found.ok_or_else(|| {
        ApiError::unprocessable(
            "no_stanza_for_key",
            "the envelope is not sealed for this platform's key; fetch /api/v1/keys/platform and seal again",
        )
    })
}

/// The envelope's own record of sender, recipients and subject must be the slip's: what
/// recipients are shown (and tracked against) is what was sealed.
fn check_snapshot(manifest: &Manifest, slip: &DeliverySlip, sender: &str) -> Result<(), ApiError> {
    let set = |v: &[String]| v.iter().map(|a| a.trim().to_lowercase()).collect::<BTreeSet<_>>();
    let slip_set = |v: &[EmailAddress]| v.iter().map(|a| a.to_string()).collect::<BTreeSet<_>>();
    let md = &manifest.metadata;
    let mismatch = if !md.from.trim().eq_ignore_ascii_case(sender) {
        Some("sender")
    } else if set(&md.to) != slip_set(&slip.to) {
        Some("To recipients")
    } else if set(&md.cc) != slip_set(&slip.cc) {
        Some("Cc recipients")
    } else if md.subject != slip.subject {
        Some("subject")
    } else {
        None
    };
    match mismatch {
        Some(what) => Err(ApiError::unprocessable(
            "slip_mismatch",
            format!("the {what} in the envelope differ from the delivery slip"),
        )),
        None => Ok(()),
    }
}
