//! Messages: the delivery slip, its recipients, the envelope's segments, tracking events.

use serde::Serialize;

use super::{PageMark, StoreError};
use crate::db::{Arg, Db, lite_row, now_ms};

/// A message row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    /// Client-chosen UUID.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: i64,
    /// Sender's user id; `None` for a message written in the Message Center.
    pub sender_id: Option<i64>,
    /// Sender's address.
    pub sender_email: String,
    /// Subject.
    pub subject: String,
    /// The delivery slip as created (JSON).
    pub slip: String,
    /// `uploading` or `final`.
    pub state: String,
    /// Envelope bytes durably stored.
    pub received: i64,
    /// Total envelope length, once its header has arrived.
    pub envelope_size: Option<i64>,
    /// File key sealed under the tenant key (after finalise).
    pub file_key_enc: Option<Vec<u8>>,
    /// Opaque id in the message link.
    pub link_token: Option<String>,
    /// Created, ms.
    pub created_at: i64,
    /// Finalised, ms.
    pub finalised_at: Option<i64>,
    /// Expires, ms.
    pub expires_at: Option<i64>,
    /// Recalled, ms.
    pub recalled_at: Option<i64>,
    /// The message this one answers (a reply written in the Message Center).
    pub in_reply_to: Option<String>,
    /// The unlock code the sender set (argon2id), asked of recipients after their code.
    pub unlock_hash: Option<String>,
}

lite_row!(MessageRow {
    id,
    tenant_id,
    sender_id,
    sender_email,
    subject,
    slip,
    state,
    received,
    envelope_size,
    file_key_enc,
    link_token,
    created_at,
    finalised_at,
    expires_at,
    recalled_at,
    in_reply_to,
    unlock_hash
});

impl MessageRow {
    /// Whether the message is finalised (its envelope whole and checked, its link made).
    pub fn is_final(&self) -> bool {
        self.state == "final"
    }
}

/// The columns of [`MessageRow`], as a literal so queries stay `&'static str`.
macro_rules! message_columns {
    () => {
        "id, tenant_id, sender_id, sender_email, subject, slip, state, received, envelope_size, \
         file_key_enc, link_token, created_at, finalised_at, expires_at, recalled_at, in_reply_to, \
         unlock_hash"
    };
}
pub(crate) use message_columns;
const SELECT_BY_ID: &str = concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1");
const INSERT: &str = concat!(
    "INSERT INTO messages (id, tenant_id, sender_id, sender_email, subject, slip, state, \
     created_at, expires_at, in_reply_to) VALUES ($1, $2, $3, $4, $5, $6, 'uploading', $7, $8, $9) \
     ON CONFLICT (id) DO NOTHING RETURNING ",
    message_columns!()
);
const ADD_EVENT: &str =
    "INSERT INTO tracking_events (message_id, recipient, kind, at) VALUES ($1, $2, $3, $4)";

/// A new message to record.
#[derive(Debug)]
pub struct NewMessage<'a> {
    /// UUID, canonical form.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: i64,
    /// Sender; `None` for a message written in the Message Center.
    pub sender_id: Option<i64>,
    /// Sender's address.
    pub sender_email: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// The slip as JSON (compared on retries).
    pub slip: &'a str,
    /// (address, "to" | "cc" | "bcc").
    pub recipients: &'a [(String, &'static str)],
    /// Expiry, ms.
    pub expires_at: Option<i64>,
    /// The message this one answers.
    pub in_reply_to: Option<&'a str>,
}

/// What creating a message did.
#[derive(Debug)]
pub enum Created {
    /// A new message.
    New(MessageRow),
    /// The same sender created the same slip before: a retry.
    Existing(MessageRow),
    /// The id is taken by something else.
    Conflict,
}

/// Records a message, idempotently on its id, with its audit entry.
pub async fn create(
    db: &Db,
    m: &NewMessage<'_>,
    audit: &super::audit::Entry<'_>,
) -> Result<Created, StoreError> {
    // The transaction runs on the writer's thread: it takes its own copy of the message.
    let id = m.id.to_owned();
    let (tenant_id, sender_id, expires_at) = (m.tenant_id, m.sender_id, m.expires_at);
    let text = [m.sender_email, m.subject, m.slip].map(str::to_owned);
    let in_reply_to = m.in_reply_to.map(str::to_owned);
    let recipients = m.recipients.to_vec();
    let audit = audit.owned();
    let inserted = db
        .write(move |mut tx| {
            Box::pin(async move {
                let [sender_email, subject, slip] = &text;
                // Insert first and look only when the id was taken: a retry is the rare case.
                let Some(row): Option<MessageRow> = tx
                    .fetch_optional(
                        INSERT,
                        &[
                            id.as_str().into(),
                            tenant_id.into(),
                            sender_id.into(),
                            sender_email.as_str().into(),
                            subject.as_str().into(),
                            slip.as_str().into(),
                            now_ms().into(),
                            expires_at.into(),
                            in_reply_to.as_deref().into(),
                        ],
                    )
                    .await?
                else {
                    return Ok(None);
                };
                // All recipients in one statement ($1 the message, then two per recipient), in
                // chunks that stay under SQLite's limit of 32766 bound values.
                for chunk in recipients.chunks(1000) {
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
                        .collect();
                    let sql = format!(
                        "INSERT INTO message_recipients (message_id, email, kind) VALUES {}",
                        values.join(", ")
                    );
                    let mut args = vec![Arg::from(id.as_str())];
                    for (email, kind) in chunk {
                        args.extend([Arg::from(email.as_str()), Arg::from(*kind)]);
                    }
                    tx.execute(&sql, &args).await?;
                }
                tx.execute(
                    ADD_EVENT,
                    &[
                        id.as_str().into(),
                        None::<&str>.into(),
                        "created".into(),
                        row.created_at.into(),
                    ],
                )
                .await?;
                super::audit::append_in(&mut tx, &audit.entry()).await?;
                Ok(Some(row))
            })
        })
        .await?;
    if let Some(row) = inserted {
        return Ok(Created::New(row));
    }
    let existing =
        get(db, m.id).await?.ok_or_else(|| StoreError::Corrupt("message vanished".into()))?;
    Ok(if existing.sender_id == m.sender_id && existing.slip == m.slip {
        Created::Existing(existing)
    } else {
        Created::Conflict
    })
}

/// A message by id.
pub async fn get(db: &Db, id: &str) -> Result<Option<MessageRow>, StoreError> {
    db.fetch_optional(SELECT_BY_ID, &[id.into()]).await
}

/// A stored piece of an envelope.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Order.
    pub seq: i64,
    /// Offset in the envelope.
    pub start: i64,
    /// Length.
    pub len: i64,
    /// Where its bytes are.
    pub stored: Stored,
}

/// Where a segment's bytes are kept.
#[derive(Clone, Debug)]
pub enum Stored {
    /// In the blob store, under this name.
    Blob(String),
    /// In the database, with the segment's row (small segments).
    Inline(bytes::Bytes),
}

/// The envelope's segments, in order.
pub async fn segments(db: &Db, id: &str) -> Result<Vec<Segment>, StoreError> {
    /// seq, start, len, blob_name, data
    type Row = (i64, i64, i64, Option<String>, Option<Vec<u8>>);
    let rows: Vec<Row> = db
        .fetch_all(
            "SELECT seq, start, len, blob_name, data FROM envelope_segments \
             WHERE message_id = $1 ORDER BY seq",
            &[id.into()],
        )
        .await?;
    rows.into_iter()
        .map(|(seq, start, len, blob_name, data)| {
            let stored = match (blob_name, data) {
                (Some(name), None) => Stored::Blob(name),
                (None, Some(data)) if data.len() as i64 == len => Stored::Inline(data.into()),
                _ => return Err(StoreError::Corrupt(format!("segment {seq} of message {id}"))),
            };
            Ok(Segment { seq, start, len, stored })
        })
        .collect()
}

/// Records a durably written segment at `offset`, if the message is still uploading and
/// `offset` is what has been received so far (so concurrent or replayed appends cannot both
/// land). Returns false when they do not match; nothing changes then.
pub async fn append_segment(
    db: &Db,
    id: &str,
    offset: i64,
    len: i64,
    stored: &Stored,
    envelope_size: Option<i64>,
) -> Result<bool, StoreError> {
    let id = id.to_owned();
    let stored = stored.clone();
    db.write(move |mut tx| {
        Box::pin(async move {
            let (blob_name, data) = match &stored {
                Stored::Blob(name) => (Some(name.as_str()), None),
                Stored::Inline(data) => (None, Some(&data[..])),
            };
            let moved = tx
                .execute(
                    "UPDATE messages SET received = received + $1, \
                     envelope_size = COALESCE(envelope_size, $2) \
                     WHERE id = $3 AND received = $4 AND state = 'uploading'",
                    &[len.into(), envelope_size.into(), id.as_str().into(), offset.into()],
                )
                .await?;
            if moved != 1 {
                return Ok(false);
            }
            // The segment's number is how many came before it.
            tx.execute(
                "INSERT INTO envelope_segments (message_id, seq, start, len, blob_name, data) \
                 SELECT $1, COUNT(*), $2, $3, $4, $5 FROM envelope_segments WHERE message_id = $1",
                &[id.as_str().into(), offset.into(), len.into(), blob_name.into(), data.into()],
            )
            .await?;
            Ok(true)
        })
    })
    .await
}

/// Marks a fully uploaded message final, storing its sealed file key and link token.
/// Returns the finalised row, or `None` when it was not uploading with every byte received
/// (a concurrent finalise won, or the upload is incomplete); nothing changes then.
pub async fn finalise(
    db: &Db,
    id: &str,
    file_key_enc: &[u8],
    link_token: &str,
    audit: &super::audit::Entry<'_>,
) -> Result<Option<MessageRow>, StoreError> {
    let (id, file_key_enc, link_token) =
        (id.to_owned(), file_key_enc.to_vec(), link_token.to_owned());
    let audit = audit.owned();
    db.write(move |mut tx| {
        Box::pin(async move {
            let now = now_ms();
            let row: Option<MessageRow> = tx
                .fetch_optional(
                    concat!(
                        "UPDATE messages SET state = 'final', file_key_enc = $1, link_token = $2, \
                         finalised_at = $3 \
                         WHERE id = $4 AND state = 'uploading' AND received = envelope_size \
                         RETURNING ",
                        message_columns!()
                    ),
                    &[
                        file_key_enc[..].into(),
                        link_token.as_str().into(),
                        now.into(),
                        id.as_str().into(),
                    ],
                )
                .await?;
            if row.is_some() {
                tx.execute(
                    ADD_EVENT,
                    &[id.as_str().into(), None::<&str>.into(), "uploaded".into(), now.into()],
                )
                .await?;
                super::audit::append_in(&mut tx, &audit.entry()).await?;
            }
            Ok(row)
        })
    })
    .await
}

/// Records that the stub went out to every recipient (the sender's mail client sent it), once.
/// Returns false when it was already recorded.
pub async fn mark_sent(
    db: &Db,
    id: &str,
    audit: &super::audit::Entry<'_>,
) -> Result<bool, StoreError> {
    let id = id.to_owned();
    let audit = audit.owned();
    db.write(move |mut tx| {
        Box::pin(async move {
            let already: Option<(i64,)> = tx
                .fetch_optional(
                    "SELECT 1 FROM tracking_events WHERE message_id = $1 AND kind = 'sent'",
                    &[id.as_str().into()],
                )
                .await?;
            if already.is_some() {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO tracking_events (message_id, recipient, kind, at) \
                 SELECT message_id, email, 'sent', $1 FROM message_recipients WHERE message_id = $2",
                &[now_ms().into(), id.as_str().into()],
            )
            .await?;
            super::audit::append_in(&mut tx, &audit.entry()).await?;
            Ok(true)
        })
    })
    .await
}

/// The finalised message a link's opaque token points at: the message's own link, or a
/// recipient's personal one.
pub async fn by_link(db: &Db, token: &str) -> Result<Option<MessageRow>, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE state = 'final' AND (link_token = $1 OR id IN \
         (SELECT message_id FROM recipient_links WHERE token = $2))"
    );
    db.fetch_optional(sql, &[token.into(), token.into()]).await
}

/// The personal link tokens of message `id`'s recipients: address → token.
pub async fn recipient_links(
    db: &Db,
    id: &str,
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let sql = "SELECT email, token FROM recipient_links WHERE message_id = $1";
    let rows: Vec<(String, String)> = db.fetch_all(sql, &[id.into()]).await?;
    Ok(rows.into_iter().collect())
}

/// Gives recipient `email` of message `id` a personal link token.
pub async fn add_recipient_link(
    db: &Db,
    id: &str,
    email: &str,
    token: &str,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO recipient_links (token, message_id, email, created_at) \
               VALUES ($1, $2, $3, $4)";
    db.execute(sql, &[token.into(), id.into(), email.into(), now_ms().into()]).await?;
    Ok(())
}

/// Whether recipient `email` has opened message `id` (its `opened` event).
pub async fn opened_by(db: &Db, id: &str, email: &str) -> Result<bool, StoreError> {
    let sql = "SELECT COUNT(*) FROM tracking_events \
               WHERE message_id = $1 AND recipient = $2 AND kind = 'opened'";
    let (n,): (i64,) = db.fetch_one(sql, &[id.into(), email.into()]).await?;
    Ok(n > 0)
}

/// Records one tracking event.
pub async fn add_event(
    db: &Db,
    id: &str,
    recipient: Option<&str>,
    kind: &str,
) -> Result<(), StoreError> {
    db.execute(ADD_EVENT, &[id.into(), recipient.into(), kind.into(), now_ms().into()]).await?;
    Ok(())
}

/// Records that `email` was served bytes of part `part` of message `id` (an attachment, or an
/// inline image): the first time only — however the bytes were asked for, whole or by range —
/// a `downloaded` event when `email` is a recipient, and the audit row `entry`, in one
/// transaction. Whether this was the first time.
pub async fn record_download(
    db: &Db,
    id: &str,
    email: &str,
    part: u32,
    is_recipient: bool,
    entry: &super::audit::Entry<'_>,
) -> Result<bool, StoreError> {
    let (id, email, entry) = (id.to_owned(), email.to_owned(), entry.owned());
    db.write(move |mut tx| {
        Box::pin(async move {
            let now = now_ms();
            let sql = "INSERT INTO downloads (message_id, email, part, at) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (message_id, email, part) DO NOTHING";
            let args =
                [id.as_str().into(), email.as_str().into(), i64::from(part).into(), now.into()];
            if tx.execute(sql, &args).await? == 0 {
                return Ok(false);
            }
            if is_recipient {
                let args =
                    [id.as_str().into(), email.as_str().into(), "downloaded".into(), now.into()];
                tx.execute(ADD_EVENT, &args).await?;
            }
            super::audit::append_in(&mut tx, &entry.entry()).await?;
            Ok(true)
        })
    })
    .await
}

/// What the Message Center account `email` sent into tenant `tenant` (replies and new
/// messages to senders: messages with no platform sender): how many since `since_count`, and
/// how many sealed bytes since `since_bytes` (ms). A reply whose large attachments are still
/// uploading counts with the size it declared.
pub async fn center_volume(
    db: &Db,
    tenant: i64,
    email: &str,
    since_count: i64,
    since_bytes: i64,
) -> Result<(i64, i64), StoreError> {
    // PostgreSQL sums BIGINT to NUMERIC: cast back, as SQLite's integer sum already is.
    let sql = "SELECT \
               CAST(COALESCE(SUM(CASE WHEN created_at > $3 THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN created_at > $4 THEN COALESCE(envelope_size, \
               (SELECT declared_size FROM reply_uploads r WHERE r.message_id = messages.id), 0) \
               ELSE 0 END), 0) AS BIGINT) \
               FROM messages WHERE tenant_id = $1 AND sender_email = $2 AND sender_id IS NULL \
               AND created_at > $5";
    let since = since_count.min(since_bytes);
    let args = [tenant.into(), email.into(), since_count.into(), since_bytes.into(), since.into()];
    db.fetch_one(sql, &args).await
}

/// A tracking event.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Event {
    /// The recipient it concerns, if any.
    pub recipient: Option<String>,
    /// created, uploaded, sent, notified, opened, downloaded, replied, recalled, expired.
    pub kind: String,
    /// When, ms.
    pub at: i64,
}

lite_row!(Event { recipient, kind, at });

/// A message's events, oldest first.
pub async fn events(db: &Db, id: &str) -> Result<Vec<Event>, StoreError> {
    let sql = "SELECT recipient, kind, at FROM tracking_events WHERE message_id = $1 ORDER BY id";
    db.fetch_all(sql, &[id.into()]).await
}

/// A message's recipients: (address, kind).
pub async fn recipients(db: &Db, id: &str) -> Result<Vec<(String, String)>, StoreError> {
    let sql = "SELECT email, kind FROM message_recipients WHERE message_id = $1 ORDER BY kind DESC, email";
    db.fetch_all(sql, &[id.into()]).await
}

/// Filters for the sent list.
#[derive(Debug, Default)]
pub struct SentFilter {
    /// Case-insensitive substring of the subject or of a recipient's address.
    pub query: Option<String>,
    /// Created at or after, ms.
    pub since: Option<i64>,
    /// Created before, ms.
    pub until: Option<i64>,
    /// Page: the messages after this mark (the previous page's last) …
    pub before: Option<PageMark>,
    /// … at most this many.
    pub limit: i64,
}

/// The sender's messages, newest first.
pub async fn list_sent(
    db: &Db,
    sender_id: i64,
    f: &SentFilter,
) -> Result<Vec<MessageRow>, StoreError> {
    // One fixed statement: a filter not given is a NULL that turns its condition off.
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE sender_id = $1 \
         AND ($2 IS NULL OR LOWER(subject) LIKE $2 OR id IN (SELECT message_id \
              FROM message_recipients WHERE email LIKE $2 AND kind <> 'bcc')) \
         AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
         AND ($5 IS NULL OR (created_at, id) < ($5, $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    );
    let pattern =
        f.query.as_ref().map(|q| format!("%{}%", q.to_lowercase().replace(['%', '_'], "")));
    let args = [
        sender_id.into(),
        pattern.as_deref().into(),
        f.since.into(),
        f.until.into(),
        f.before.as_ref().map(|m| m.created_at).into(),
        f.before.as_ref().map(|m| m.id.as_str()).into(),
        f.limit.into(),
    ];
    db.fetch_all(sql, &args).await
}

/// Which of a tenant's messages to list (each filter off when `None`).
#[derive(Debug, Default)]
pub struct TenantFilter {
    /// Sender address contains this.
    pub sender: Option<String>,
    /// A recipient's address (To, Cc or Bcc) contains this.
    pub recipient: Option<String>,
    /// Subject contains this (any case).
    pub subject: Option<String>,
    /// Created at or after, ms.
    pub since: Option<i64>,
    /// Created before, ms.
    pub until: Option<i64>,
    /// Page: the messages after this mark …
    pub before: Option<PageMark>,
    /// … at most this many.
    pub limit: i64,
}

/// Tenant `tenant_id`'s messages that pass `f`, newest first (for its administrators and
/// compliance officers: Bcc recipients are searched too).
pub async fn list_for_tenant(
    db: &Db,
    tenant_id: i64,
    f: &TenantFilter,
) -> Result<Vec<MessageRow>, StoreError> {
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE tenant_id = $1 \
         AND ($2 IS NULL OR sender_email LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR id IN (SELECT message_id FROM message_recipients \
              WHERE email LIKE $3 ESCAPE '\\')) \
         AND ($4 IS NULL OR LOWER(subject) LIKE $4 ESCAPE '\\') \
         AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
         AND ($7 IS NULL OR (created_at, id) < ($7, $8)) \
         ORDER BY created_at DESC, id DESC LIMIT $9"
    );
    let contains = |s: &Option<String>| {
        s.as_deref().map(|s| format!("%{}%", super::audit::like_text(&s.to_lowercase())))
    };
    let (sender, recipient, subject) =
        (contains(&f.sender), contains(&f.recipient), contains(&f.subject));
    let args = [
        tenant_id.into(),
        sender.as_deref().into(),
        recipient.as_deref().into(),
        subject.as_deref().into(),
        f.since.into(),
        f.until.into(),
        f.before.as_ref().map(|m| m.created_at).into(),
        f.before.as_ref().map(|m| m.id.as_str()).into(),
        f.limit.into(),
    ];
    db.fetch_all(sql, &args).await
}

/// Recalls a message and records the `recalled` event with it; false if it was already
/// recalled.
pub async fn recall(db: &Db, id: &str) -> Result<bool, StoreError> {
    let id = id.to_owned();
    db.write(move |mut tx| {
        Box::pin(async move {
            let now = now_ms();
            let recall =
                "UPDATE messages SET recalled_at = $1 WHERE id = $2 AND recalled_at IS NULL";
            if tx.execute(recall, &[now.into(), id.as_str().into()]).await? == 0 {
                return Ok(false);
            }
            let event = [id.as_str().into(), None::<&str>.into(), "recalled".into(), now.into()];
            tx.execute(ADD_EVENT, &event).await?;
            Ok(true)
        })
    })
    .await
}

/// Sets the hash of a message's unlock code.
pub async fn set_unlock_hash(db: &Db, id: &str, hash: &str) -> Result<(), StoreError> {
    db.execute("UPDATE messages SET unlock_hash = $1 WHERE id = $2", &[hash.into(), id.into()])
        .await?;
    Ok(())
}

/// Sets or clears a message's expiry.
pub async fn set_expiry(db: &Db, id: &str, expires_at: Option<i64>) -> Result<(), StoreError> {
    let sql = "UPDATE messages SET expires_at = $1 WHERE id = $2";
    db.execute(sql, &[expires_at.into(), id.into()]).await?;
    Ok(())
}

/// Whether any segment row — or piece of a reply being uploaded — names blob `name` (if none
/// does, the blob is an orphan).
pub async fn blob_is_named(db: &Db, name: &str) -> Result<bool, StoreError> {
    let sql = "SELECT 1 FROM envelope_segments WHERE blob_name = $1 \
               UNION ALL SELECT 1 FROM reply_upload_pieces WHERE blob_name = $1 LIMIT 1";
    Ok(db.fetch_optional::<(i64,)>(sql, &[name.into()]).await?.is_some())
}

/// Uploads still unfinished that were created before `before` (ms) — and, for a Message
/// Center reply's large attachments, received no piece since: (id, tenant), oldest first, at
/// most `limit`.
pub async fn abandoned_uploads(
    db: &Db,
    before: i64,
    limit: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let sql = "SELECT id, tenant_id FROM messages WHERE state = 'uploading' AND created_at < $1 \
               AND NOT EXISTS (SELECT 1 FROM reply_uploads r WHERE r.message_id = messages.id \
               AND r.updated_at >= $1) ORDER BY created_at LIMIT $2";
    db.fetch_all(sql, &[before.into(), limit.into()]).await
}

/// Deletes an unfinished upload — its slip, recipients, events and segment records — if it is
/// still unfinished, with an audit row; returns the names of the segment blobs to remove, or
/// `None` when the message was finalised (or removed) meanwhile.
pub async fn delete_upload(
    db: &Db,
    id: &str,
    audit: &super::audit::Entry<'_>,
) -> Result<Option<Vec<String>>, StoreError> {
    let id = id.to_owned();
    let audit = audit.owned();
    db.write(move |mut tx| {
        Box::pin(async move {
            let id = id.as_str();
            // An update that changes nothing, to take the row's lock (PostgreSQL; SQLite's
            // write lock covers it already): a finalise on another node, or another node's
            // sweeper, waits for this transaction — or this one for it, and then finds the
            // message no longer uploading — so nothing finalised loses its segments and no
            // upload is removed (and audited) twice.
            let still_uploading = tx
                .execute(
                    "UPDATE messages SET state = state WHERE id = $1 AND state = 'uploading'",
                    &[id.into()],
                )
                .await?;
            if still_uploading == 0 {
                return Ok(None);
            }
            // A Message Center reply's attachments may still be pieces being uploaded.
            let blobs: Vec<(String,)> = tx
                .fetch_all(
                    "SELECT blob_name FROM envelope_segments \
                     WHERE message_id = $1 AND blob_name IS NOT NULL \
                     UNION SELECT blob_name FROM reply_upload_pieces WHERE message_id = $1",
                    &[id.into()],
                )
                .await?;
            for statement in [
                "DELETE FROM reply_upload_pieces WHERE message_id = $1",
                "DELETE FROM reply_uploads WHERE message_id = $1",
                "DELETE FROM envelope_segments WHERE message_id = $1",
                "DELETE FROM message_recipients WHERE message_id = $1",
                "DELETE FROM tracking_events WHERE message_id = $1",
                "DELETE FROM messages WHERE id = $1 AND state = 'uploading'",
            ] {
                tx.execute(statement, &[id.into()]).await?;
            }
            super::audit::append_in(&mut tx, &audit.entry()).await?;
            Ok(Some(blobs.into_iter().map(|(b,)| b).collect()))
        })
    })
    .await
}
