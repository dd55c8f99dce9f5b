//! Usage figures of a tenant for its administrators' reports: per period (a day, a week),
//! the messages its members sent, their recipients, the sealed bytes, how many recipients
//! opened their message within 24 hours of its sending, the replies that came back through
//! the Message Center; and the top senders over a whole range. Counted in the database
//! (grouped by period), so a report costs a few indexed queries whatever the volume.

use super::StoreError;
use crate::db::Db;

/// The figures of one period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Period {
    /// The period's start, ms.
    pub start: i64,
    /// Messages members sent (finalised).
    pub messages: i64,
    /// Their recipients (To, Cc and Bcc).
    pub recipients: i64,
    /// Their sealed size, bytes.
    pub bytes: i64,
    /// Of those recipients, how many opened the message within 24 hours of its sending.
    pub opened_within_day: i64,
    /// Replies and new messages written to members in the Message Center.
    pub replies: i64,
}

const DAY_MS: i64 = 86_400_000;

/// Tenant `tenant_id`'s figures for `count` periods of `length` ms, the first starting at
/// `first` (ms), each period in order, empty ones included.
pub async fn periods(
    db: &Db,
    tenant_id: i64,
    first: i64,
    length: i64,
    count: i64,
) -> Result<Vec<Period>, StoreError> {
    let end = first + length * count;
    let sql = "SELECT (created_at - $2) / $3 AS bucket, \
               CAST(SUM(CASE WHEN sender_id IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN sender_id IS NULL THEN 0 ELSE envelope_size END), 0) AS BIGINT), \
               CAST(SUM(CASE WHEN sender_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) \
               FROM messages WHERE tenant_id = $1 AND state = 'final' \
               AND created_at >= $2 AND created_at < $4 GROUP BY bucket";
    let args = [tenant_id.into(), first.into(), length.into(), end.into()];
    let sent: Vec<(i64, i64, i64, i64)> = db.fetch_all(sql, &args).await?;
    let sql = "SELECT (m.created_at - $2) / $3 AS bucket, COUNT(*), \
               CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM tracking_events e \
                   WHERE e.message_id = r.message_id AND e.recipient = r.email \
                   AND e.kind = 'opened' AND e.at <= m.finalised_at + $5) THEN 1 ELSE 0 END) \
                   AS BIGINT) \
               FROM message_recipients r JOIN messages m ON m.id = r.message_id \
               WHERE m.tenant_id = $1 AND m.state = 'final' AND m.sender_id IS NOT NULL \
               AND m.created_at >= $2 AND m.created_at < $4 GROUP BY bucket";
    let args = [tenant_id.into(), first.into(), length.into(), end.into(), DAY_MS.into()];
    let reached: Vec<(i64, i64, i64)> = db.fetch_all(sql, &args).await?;
    let mut out: Vec<Period> =
        (0..count).map(|i| Period { start: first + i * length, ..Period::default() }).collect();
    for (bucket, messages, bytes, replies) in sent {
        if let Some(p) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
            (p.messages, p.bytes, p.replies) = (messages, bytes, replies);
        }
    }
    for (bucket, recipients, opened) in reached {
        if let Some(p) = usize::try_from(bucket).ok().and_then(|b| out.get_mut(b)) {
            (p.recipients, p.opened_within_day) = (recipients, opened);
        }
    }
    Ok(out)
}

/// Tenant `tenant_id`'s members who sent the most messages from `since` to `until` (ms):
/// (address, messages), at most `limit`.
pub async fn top_senders(
    db: &Db,
    tenant_id: i64,
    since: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let sql = "SELECT sender_email, COUNT(*) AS n FROM messages \
               WHERE tenant_id = $1 AND state = 'final' AND sender_id IS NOT NULL \
               AND created_at >= $2 AND created_at < $3 \
               GROUP BY sender_email ORDER BY n DESC, sender_email LIMIT $4";
    db.fetch_all(sql, &[tenant_id.into(), since.into(), until.into(), limit.into()]).await
}

/// One organisation's use, for the platform's operators.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TenantUsage {
    /// Tenant id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Created, ms.
    pub created_at: i64,
    /// Members (disabled ones too).
    pub members: i64,
    /// Messages its members sent since the time asked for.
    pub messages: i64,
    /// Their sealed bytes.
    pub bytes: i64,
}

crate::db::lite_row!(TenantUsage { id, name, created_at, members, messages, bytes });

/// Every organisation with its members and what its members sent since `since` (ms), by name.
pub async fn usage_by_tenant(db: &Db, since: i64) -> Result<Vec<TenantUsage>, StoreError> {
    let sql = "SELECT t.id, t.name, t.created_at, \
               (SELECT COUNT(*) FROM users u WHERE u.tenant_id = t.id) AS members, \
               (SELECT COUNT(*) FROM messages m WHERE m.tenant_id = t.id AND m.state = 'final' \
                AND m.sender_id IS NOT NULL AND m.created_at >= $1) AS messages, \
               (SELECT CAST(COALESCE(SUM(m.envelope_size), 0) AS BIGINT) FROM messages m \
                WHERE m.tenant_id = t.id AND m.state = 'final' AND m.sender_id IS NOT NULL \
                AND m.created_at >= $1) AS bytes \
               FROM tenants t ORDER BY t.name";
    db.fetch_all(sql, &[since.into()]).await
}

/// Every organisation's mail domains: (tenant id, domain), by domain.
pub async fn domains(db: &Db) -> Result<Vec<(i64, String)>, StoreError> {
    db.fetch_all("SELECT tenant_id, domain FROM tenant_domains ORDER BY domain", &[]).await
}
