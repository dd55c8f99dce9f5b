//! The audit log: append-only, each row hash-chained to the one before it, so that changing,
//! removing or reordering any row breaks every link after it.
//!
//! `hash = SHA-256(prev_hash ‖ u64(seq) ‖ i64(at) ‖ field(tenant) ‖ field(actor) ‖
//! field(action) ‖ field(detail))`, where `field(x)` is x's UTF-8 length as u32 then its bytes
//! (a missing tenant is the empty string), integers big-endian. The first row's `prev_hash`
//! is 32 zero bytes. `sealpost-platform audit verify` walks the chain.

use aws_lc_rs::digest;

use super::StoreError;
use crate::db::{Db, Engine, Tx, lite_row, now_ms};

/// One audit entry.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, ms.
    pub at: i64,
    /// The tenant concerned, if any.
    pub tenant_id: Option<i64>,
    /// Who did it (an address, `cli`, `system`).
    pub actor: String,
    /// What (`login.failed`, `message.finalised`, …).
    pub action: String,
    /// Details (ids, never content or secrets).
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: Vec<u8>,
    /// This row's hash.
    pub hash: Vec<u8>,
}

lite_row!(AuditRow { seq, at, tenant_id, actor, action, detail, prev_hash, hash });

fn link_hash(
    prev: &[u8],
    seq: i64,
    at: i64,
    tenant: Option<i64>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(prev);
    ctx.update(&(seq as u64).to_be_bytes());
    ctx.update(&at.to_be_bytes());
    let tenant = tenant.map(|t| t.to_string()).unwrap_or_default();
    for field in [tenant.as_str(), actor, action, detail] {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}

/// One action to record.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The tenant concerned, if any.
    pub tenant: Option<i64>,
    /// Who did it.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// Details (ids, never content or secrets).
    pub detail: &'a str,
}

impl Entry<'_> {
    /// A copy that owns its text, for a transaction that runs elsewhere (see `Db::write`).
    pub(crate) fn owned(&self) -> OwnedEntry {
        OwnedEntry {
            tenant: self.tenant,
            actor: self.actor.to_owned(),
            action: self.action.to_owned(),
            detail: self.detail.to_owned(),
        }
    }
}

/// An [`Entry`] that owns its text.
#[derive(Clone, Debug)]
pub(crate) struct OwnedEntry {
    tenant: Option<i64>,
    actor: String,
    action: String,
    detail: String,
}

impl OwnedEntry {
    /// Borrowed again.
    pub(crate) fn entry(&self) -> Entry<'_> {
        Entry {
            tenant: self.tenant,
            actor: &self.actor,
            action: &self.action,
            detail: &self.detail,
        }
    }
}

/// Appends an entry in its own transaction (for actions that have none of their own).
pub async fn append(
    db: &Db,
    tenant: Option<i64>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let entry = Entry { tenant, actor, action, detail }.owned();
    db.write(move |mut tx| Box::pin(async move { append_in(&mut tx, &entry.entry()).await })).await
}

/// Appends an entry inside the caller's write transaction, so the entry exists exactly when
/// the action it records does. Appenders are serialised in the database (SQLite: the
/// transaction holds the write lock; PostgreSQL: a transaction-scoped advisory lock, which
/// every node's appends take), so the chain never forks, however many processes append.
pub(crate) async fn append_in(tx: &mut Tx<'_>, e: &Entry<'_>) -> Result<(), StoreError> {
    let head = tx.audit_head();
    if tx.engine() == Engine::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(7369826391)", &[]).await?;
    }
    let at = now_ms();
    if let Some(guess) = head.get()
        && let Some(appended) = append_after(tx, &guess, at, e).await?
    {
        head.set(appended);
        return Ok(());
    }
    let newest: Option<(i64, Vec<u8>)> =
        tx.fetch_optional("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[]).await?;
    let newest = newest.unwrap_or_else(|| (0, vec![0u8; 32]));
    let appended = append_after(tx, &newest, at, e).await?.ok_or_else(|| {
        StoreError::Corrupt("the audit log changed while this transaction held its lock".into())
    })?;
    head.set(appended);
    Ok(())
}

/// Inserts `e` as the link after `head` (`(0, zeros)` for an empty log) if `head` is still the
/// newest row, hash and all; returns the new head, or `None` (nothing written) if it is not.
async fn append_after(
    tx: &mut Tx<'_>,
    (head, prev): &(i64, Vec<u8>),
    at: i64,
    e: &Entry<'_>,
) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    let seq = head + 1;
    let hash = link_hash(prev, seq, at, e.tenant, e.actor, e.action, e.detail);
    let appended = tx
        .execute(
            "INSERT INTO audit_log (seq, at, tenant_id, actor, action, detail, prev_hash, hash) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
             WHERE COALESCE((SELECT MAX(seq) FROM audit_log), 0) = $9 \
             AND COALESCE((SELECT hash FROM audit_log WHERE seq = $9), $7) = $7",
            &[
                seq.into(),
                at.into(),
                e.tenant.into(),
                e.actor.into(),
                e.action.into(),
                e.detail.into(),
                prev[..].into(),
                hash[..].into(),
                (*head).into(),
            ],
        )
        .await?;
    Ok((appended == 1).then_some((seq, hash)))
}

/// `typed` as literal text inside a `LIKE … ESCAPE '\'` pattern: its own `%`, `_` and `\`
/// match only themselves.
pub fn like_text(typed: &str) -> String {
    let mut out = String::with_capacity(typed.len());
    for c in typed.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Which of a tenant's audit entries to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Entries whose actor contains this.
    pub actor: Option<String>,
    /// Entries whose action starts with this (`member.` for every member change).
    pub action: Option<String>,
    /// At or after, ms.
    pub since: Option<i64>,
    /// Before, ms.
    pub until: Option<i64>,
    /// Page: entries before this sequence number …
    pub before_seq: Option<i64>,
    /// … at most this many.
    pub limit: i64,
}

/// Tenant `tenant_id`'s entries that pass `f`, newest first.
pub async fn list_for_tenant(
    db: &Db,
    tenant_id: i64,
    f: &Filter,
) -> Result<Vec<AuditRow>, StoreError> {
    // One fixed statement: a filter not given is a NULL that turns its condition off.
    let sql = "SELECT seq, at, tenant_id, actor, action, detail, prev_hash, hash FROM audit_log \
               WHERE tenant_id = $1 AND ($2 IS NULL OR actor LIKE $2 ESCAPE '\\') \
               AND ($3 IS NULL OR action LIKE $3 ESCAPE '\\') AND ($4 IS NULL OR at >= $4) \
               AND ($5 IS NULL OR at < $5) AND ($6 IS NULL OR seq < $6) \
               ORDER BY seq DESC LIMIT $7";
    let actor = f.actor.as_deref().map(|a| format!("%{}%", like_text(&a.to_lowercase())));
    let action = f.action.as_deref().map(|a| format!("{}%", like_text(a)));
    let args = [
        tenant_id.into(),
        actor.as_deref().into(),
        action.as_deref().into(),
        f.since.into(),
        f.until.into(),
        f.before_seq.into(),
        f.limit.into(),
    ];
    db.fetch_all(sql, &args).await
}

/// When tenant `tenant_id` last had an entry `action`, ms.
pub async fn last_at(db: &Db, tenant_id: i64, action: &str) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT MAX(at) FROM audit_log WHERE tenant_id = $1 AND action = $2";
    let (at,): (Option<i64>,) = db.fetch_one(sql, &[tenant_id.into(), action.into()]).await?;
    Ok(at)
}

/// What verifying the chain found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every link holds.
    Intact {
        /// Entries checked.
        entries: i64,
    },
    /// The first row whose link does not hold.
    Broken {
        /// Its sequence number.
        seq: i64,
        /// Why.
        reason: &'static str,
    },
}

/// Walks the whole chain, in pages.
pub async fn verify(db: &Db) -> Result<Verdict, StoreError> {
    let mut prev = vec![0u8; 32];
    let mut expected_seq = 1;
    loop {
        let page = "SELECT seq, at, tenant_id, actor, action, detail, prev_hash, hash \
                    FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1000";
        let rows: Vec<AuditRow> = db.fetch_all(page, &[expected_seq.into()]).await?;
        if rows.is_empty() {
            let rest = "SELECT COUNT(*) FROM audit_log WHERE seq >= $1";
            let (gap,): (i64,) = db.fetch_one(rest, &[expected_seq.into()]).await?;
            return Ok(if gap > 0 {
                Verdict::Broken { seq: expected_seq, reason: "a row is missing" }
            } else {
                Verdict::Intact { entries: expected_seq - 1 }
            });
        }
        for r in rows {
            if r.seq != expected_seq {
                return Ok(Verdict::Broken { seq: expected_seq, reason: "a row is missing" });
            }
            if r.prev_hash != prev {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "it does not follow the row before",
                });
            }
            let h =
                link_hash(&r.prev_hash, r.seq, r.at, r.tenant_id, &r.actor, &r.action, &r.detail);
            if h != r.hash {
                return Ok(Verdict::Broken { seq: r.seq, reason: "its contents were changed" });
            }
            prev = r.hash;
            expected_seq += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn entries(db: &Db) -> i64 {
        match verify(db).await.expect("verify") {
            Verdict::Intact { entries } => entries,
            broken => panic!("the chain broke: {broken:?}"),
        }
    }

    #[tokio::test]
    async fn stale_heads_from_another_process_or_a_rollback_never_fork_the_chain() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        // Two handles on one file, as the server and an `admin` command are.
        let (server, admin) =
            (Db::connect(&url).await.expect("server"), Db::connect(&url).await.expect("admin"));
        for round in 0..3 {
            append(&server, None, "alice", "message.created", &format!("s{round}"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            append(&admin, None, "cli", "user.created", &format!("a{round}"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(entries(&server).await, 6);

        // An entry whose transaction rolls back leaves the head guess pointing at nothing.
        let rolled_back = server
            .write(move |mut tx| {
                Box::pin(async move {
                    let e = Entry {
                        tenant: None,
                        actor: "alice",
                        action: "message.finalised",
                        detail: "x",
                    };
                    append_in(&mut tx, &e).await?;
                    Err::<(), _>(StoreError::Corrupt("roll back".into()))
                })
            })
            .await;
        assert!(rolled_back.is_err());
        append(&admin, None, "cli", "tenant.created", "t").await.unwrap_or_else(|e| panic!("{e}"));
        append(&server, None, "alice", "message.recalled", "y")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries(&server).await, 8);
    }
}
