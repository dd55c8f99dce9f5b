//! The outgoing-mail queue (`notifications`). Rows are claimed in batches with a lease: the
//! claim moves `next_attempt_at` to the lease's end and counts the attempt, so the attempt
//! number is the claim's token — only the worker holding it can settle the row. On
//! PostgreSQL the claim skips rows another node is claiming (`FOR UPDATE SKIP LOCKED`); on
//! SQLite the single writer serialises claims.
//!
//! A mail's bodies may carry a one-time code or a personal link, so they are kept sealed
//! under the master key (bound to the mail's key) from the moment they are queued, wiped
//! once the relay accepted them, and wiped on dead letters that carry a code (useless after
//! ten minutes anyway). What stays readable is what an admin needs: kind, recipient,
//! subject, state, attempts, the last error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;

use super::StoreError;
use crate::db::{Db, Engine, Tx, lite_row, now_ms};
use crate::secrets::SealingKey;

/// Kinds of mail that carry a one-time code: their dead letters keep no body.
const CARRIES_A_CODE: [&str; 2] = ["one_time_code", "password_reset"];
/// What a sealed body starts with (a row queued before bodies were sealed has none).
const SEALED: &str = "sealed1:";

fn seal_body(master: &SealingKey, purpose: &str, body: &str) -> Result<String, StoreError> {
    Ok(format!("{SEALED}{}", B64.encode(master.seal(purpose, body.as_bytes())?)))
}

fn open_body(master: &SealingKey, purpose: &str, stored: String) -> Result<String, StoreError> {
    let Some(sealed) = stored.strip_prefix(SEALED) else { return Ok(stored) };
    let bytes = B64.decode(sealed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    String::from_utf8(master.open(purpose, &bytes)?.to_vec())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A mail to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Unique per notification: enqueueing it again does nothing. Also the Message-ID.
    pub key: String,
    /// The tenant it is sent for (its relay, its reports), if any.
    pub tenant_id: Option<i64>,
    /// What it is: `one_time_code`, `message_link`, `reply`, `password_reset`, `test`.
    pub kind: String,
    /// The one recipient.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, when there is one.
    pub html: Option<String>,
}

/// A claimed row: the mail and the claim's token.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// Row id.
    pub id: i64,
    /// Attempts so far, this one included; settles the row only while it is unchanged.
    pub attempt: i64,
    /// The mail.
    pub mail: Outgoing,
}

/// Mail that carries a credential: a one-time code, a set-password link, a reset code.
/// It always goes through the platform's own relay, unbranded — never an organisation's
/// relay, whose operator could otherwise read a code that opens a recipient's mailbox in the
/// Message Center (which holds mail from every organisation), or a link that sets a
/// member's password.
pub const CREDENTIAL_KINDS: [&str; 3] = ["one_time_code", "password_link", "password_reset"];

/// Whether mail of `kind` carries a credential ([`CREDENTIAL_KINDS`]).
pub fn carries_credential(kind: &str) -> bool {
    CREDENTIAL_KINDS.contains(&kind)
}

/// A row as admins see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Recipient.
    pub recipient: String,
    /// `queued`, `sent` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// Queued at, ms.
    pub created_at: i64,
}

lite_row!(Listed { id, kind, recipient, state, attempts, last_error, created_at });

/// Queues `mail`, its bodies sealed; false when a notification with its key is already queued
/// or sent.
pub async fn enqueue(db: &Db, master: &SealingKey, mail: &Outgoing) -> Result<bool, StoreError> {
    let mail = seal(master, mail)?;
    db.write(move |mut tx| Box::pin(async move { enqueue_in(&mut tx, &mail).await })).await
}

/// A mail with its bodies sealed, ready to queue (sealed before a transaction starts, so the
/// writer is not held for it).
#[derive(Debug)]
pub struct Sealed(Outgoing);

/// `mail` with its bodies sealed.
pub fn seal(master: &SealingKey, mail: &Outgoing) -> Result<Sealed, StoreError> {
    Ok(Sealed(Outgoing {
        text: seal_body(master, &format!("mail text:{}", mail.key), &mail.text)?,
        html: match &mail.html {
            Some(h) => Some(seal_body(master, &format!("mail html:{}", mail.key), h)?),
            None => None,
        },
        ..mail.clone()
    }))
}

/// [`enqueue`] within the transaction `tx`.
pub async fn enqueue_in(tx: &mut Tx<'_>, mail: &Sealed) -> Result<bool, StoreError> {
    let mail = &mail.0;
    let sql = "INSERT INTO notifications (tenant_id, idempotency_key, kind, recipient, subject, \
               body_text, body_html, state, attempts, next_attempt_at, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8) \
               ON CONFLICT (idempotency_key) DO NOTHING";
    let args = [
        mail.tenant_id.into(),
        mail.key.as_str().into(),
        mail.kind.as_str().into(),
        mail.recipient.as_str().into(),
        mail.subject.as_str().into(),
        mail.text.as_str().into(),
        mail.html.as_deref().into(),
        now_ms().into(),
    ];
    Ok(tx.execute(sql, &args).await? == 1)
}

/// A claimed row as the claim returns it, in `claim_sql`'s order.
type ClaimedRow = (i64, i64, String, Option<i64>, String, String, String, String, Option<String>);

/// The claim, with the row lock clause each engine wants (`$1` lease end, `$2` now, `$3` limit).
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1 ",
            "WHERE id IN (SELECT id FROM notifications WHERE state = 'queued' AND next_attempt_at <= $2 ",
            "ORDER BY next_attempt_at, id LIMIT $3",
            $lock,
            ") RETURNING id, attempts, idempotency_key, tenant_id, kind, recipient, subject, body_text, body_html"
        )
    };
}

/// Claims up to `limit` due rows for `lease_ms`, their bodies opened.
pub async fn claim(
    db: &Db,
    master: &SealingKey,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let now = now_ms();
    let sql = match db.engine {
        Engine::Postgres => claim_sql!(" FOR UPDATE SKIP LOCKED"),
        Engine::Sqlite => claim_sql!(""),
    };
    let rows: Vec<ClaimedRow> = db
        .write(move |mut tx| {
            Box::pin(async move {
                tx.fetch_all(sql, &[(now + lease_ms).into(), now.into(), limit.into()]).await
            })
        })
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, attempt, key, tenant_id, kind, recipient, subject, text, html) in rows {
        let opened = open_body(master, &format!("mail text:{key}"), text).and_then(|text| {
            let html = match html {
                Some(h) => Some(open_body(master, &format!("mail html:{key}"), h)?),
                None => None,
            };
            Ok((text, html))
        });
        match opened {
            Ok((text, html)) => {
                let mail = Outgoing { key, tenant_id, kind, recipient, subject, text, html };
                claimed.push(Claimed { id, attempt, mail });
            }
            // One mail that cannot be opened (sealed under another master key, damaged) is
            // dead-lettered on its own, so it never holds up the rest of the queue.
            Err(e) => {
                tracing::error!(id, error = %e, "a queued mail's body does not open");
                let sql = "UPDATE notifications SET state = 'dead', last_error = $1 \
                           WHERE id = $2 AND attempts = $3 AND state = 'queued'";
                let why = "its sealed body does not open (another master key?)";
                db.execute(sql, &[why.into(), id.into(), attempt.into()]).await?;
            }
        }
    }
    Ok(claimed)
}

/// The relay accepted the mail. Its bodies are wiped: a one-time code must not outlive its
/// delivery in the database (the row stays for admins and reports).
pub async fn mark_sent(db: &Db, c: &Claimed) -> Result<bool, StoreError> {
    settle(db, c, "sent", None, None).await
}

/// Delivery failed for now: try again at `next_at` (ms).
pub async fn mark_retry(
    db: &Db,
    c: &Claimed,
    next_at: i64,
    error: &str,
) -> Result<bool, StoreError> {
    settle(db, c, "queued", Some(next_at), Some(error)).await
}

/// Nothing could be tried (no relay is configured for it): back in the queue until
/// `next_at`, the attempt not counted.
pub async fn postpone(db: &Db, c: &Claimed, next_at: i64, error: &str) -> Result<bool, StoreError> {
    let sql = "UPDATE notifications SET attempts = attempts - 1, next_attempt_at = $1, \
               last_error = $2 WHERE id = $3 AND attempts = $4 AND state = 'queued'";
    let args = [next_at.into(), error.into(), c.id.into(), c.attempt.into()];
    Ok(db.execute(sql, &args).await? == 1)
}

/// A claimed mail this node will not try after all (it is stopping): due again at once, for
/// any node, the attempt not counted and its last error kept. Without this it would wait out
/// its lease.
pub async fn hand_back(db: &Db, c: &Claimed) -> Result<bool, StoreError> {
    let sql = "UPDATE notifications SET attempts = attempts - 1, next_attempt_at = $1 \
               WHERE id = $2 AND attempts = $3 AND state = 'queued'";
    let args = [now_ms().into(), c.id.into(), c.attempt.into()];
    Ok(db.execute(sql, &args).await? == 1)
}

/// Delivery failed for good (a permanent refusal, or too many attempts): dead-lettered. A
/// mail that carries a one-time code loses its bodies (an admin can see that it failed and
/// why; the person asks for a new code).
pub async fn mark_dead(db: &Db, c: &Claimed, error: &str) -> Result<bool, StoreError> {
    let state = if CARRIES_A_CODE.contains(&c.mail.kind.as_str()) { "dead_wiped" } else { "dead" };
    settle(db, c, state, None, Some(error)).await
}

async fn settle(
    db: &Db,
    c: &Claimed,
    state: &str,
    next_at: Option<i64>,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    // `dead_wiped` is a dead letter whose bodies go: it is stored as `dead`.
    let sql = "UPDATE notifications SET \
               state = CASE WHEN $1 = 'dead_wiped' THEN 'dead' ELSE $1 END, \
               next_attempt_at = COALESCE($2, next_attempt_at), \
               last_error = COALESCE($3, last_error), \
               sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END, \
               body_text = CASE WHEN $1 IN ('sent', 'dead_wiped') THEN '' ELSE body_text END, \
               body_html = CASE WHEN $1 IN ('sent', 'dead_wiped') THEN NULL ELSE body_html END \
               WHERE id = $5 AND attempts = $6 AND state = 'queued'";
    let args = [
        state.into(),
        next_at.into(),
        error.into(),
        now_ms().into(),
        c.id.into(),
        c.attempt.into(),
    ];
    Ok(db.execute(sql, &args).await? == 1)
}

/// Rows in `state` (all when `None`) of `tenant` (every tenant's, and the platform's own,
/// when `None`), newest first, at most `limit`.
pub async fn list(
    db: &Db,
    tenant: Option<i64>,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, StoreError> {
    let sql = "SELECT id, kind, recipient, state, attempts, last_error, created_at \
               FROM notifications WHERE ($1 IS NULL OR state = $1) \
               AND ($2 IS NULL OR tenant_id = $2) ORDER BY id DESC LIMIT $3";
    db.fetch_all(sql, &[state.into(), tenant.into(), limit.into()]).await
}

/// Puts a dead-lettered row back in the queue (an admin fixed the cause); not one whose
/// bodies were wiped, nor, with `tenant`, another tenant's.
pub async fn requeue(db: &Db, tenant: Option<i64>, id: i64) -> Result<bool, StoreError> {
    let sql = "UPDATE notifications SET state = 'queued', attempts = 0, next_attempt_at = $1 \
               WHERE id = $2 AND state = 'dead' AND body_text <> '' \
               AND ($3 IS NULL OR tenant_id = $3)";
    Ok(db.execute(sql, &[now_ms().into(), id.into(), tenant.into()]).await? == 1)
}

/// How long the mail queue is, for the metrics: mail waiting for its first try, waiting for
/// another after a failure, and dead-lettered; and how long the oldest queued mail has waited
/// (ms; 0 when none is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueLength {
    /// Queued, never tried.
    pub waiting: i64,
    /// Queued again after a failed try.
    pub retrying: i64,
    /// Given up on.
    pub dead: i64,
    /// Age of the oldest queued mail, ms.
    pub oldest_ms: i64,
}

/// The queue's length now (every tenant's and the platform's own mail).
pub async fn queue_length(db: &Db) -> Result<QueueLength, StoreError> {
    let sql = "SELECT \
               COALESCE(SUM(CASE WHEN state = 'queued' AND attempts = 0 THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN state = 'queued' AND attempts > 0 THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
               COALESCE(MIN(CASE WHEN state = 'queued' THEN created_at END), 0) \
               FROM notifications WHERE state IN ('queued', 'dead')";
    let (waiting, retrying, dead, oldest): (i64, i64, i64, i64) = db.fetch_one(sql, &[]).await?;
    let oldest_ms = if oldest == 0 { 0 } else { (now_ms() - oldest).max(0) };
    Ok(QueueLength { waiting, retrying, dead, oldest_ms })
}
