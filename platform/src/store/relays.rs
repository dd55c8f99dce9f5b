//! Tenants' own SMTP relays (`tenant_relays`): a tenant's mail goes through its relay rather
//! than the global one. The relay password is sealed under the tenant's data key.

use sqlx::Row;

use super::StoreError;
use super::accounts;
use crate::config::Secret;
use crate::db::{Db, now_ms};
use crate::secrets::SealingKey;

/// Where and how to hand mail over.
#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    /// User name, when the relay wants authentication.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<Secret>,
    /// Sender of the mail, e.g. `Acme secure mail <secure@acme.example>`.
    pub from: String,
}

fn password_purpose(tenant_id: i64) -> String {
    format!("smtp relay password:{tenant_id}")
}

/// Sets (or replaces) a tenant's relay.
pub async fn set(
    db: &Db,
    master: &SealingKey,
    tenant_id: i64,
    relay: &RelaySettings,
) -> Result<(), StoreError> {
    let key = accounts::data_key(db, master, tenant_id).await?;
    let sealed = match &relay.password {
        Some(p) => Some(key.seal(&password_purpose(tenant_id), p.0.as_bytes())?),
        None => None,
    };
    db.durably(
        sqlx::query(
            "INSERT INTO tenant_relays (tenant_id, host, port, security, username, password_enc, \
         from_address, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id) DO UPDATE SET host = excluded.host, port = excluded.port, \
         security = excluded.security, username = excluded.username, \
         password_enc = excluded.password_enc, from_address = excluded.from_address, \
         updated_at = excluded.updated_at",
        )
        .bind(tenant_id)
        .bind(&relay.host)
        .bind(i64::from(relay.port))
        .bind(&relay.security)
        .bind(&relay.username)
        .bind(sealed)
        .bind(&relay.from)
        .bind(now_ms())
        .execute(&db.writer),
    )
    .await?;
    Ok(())
}

/// A tenant's relay, if it has one.
pub async fn get(
    db: &Db,
    master: &SealingKey,
    tenant_id: i64,
) -> Result<Option<RelaySettings>, StoreError> {
    let row = sqlx::query(
        "SELECT host, port, security, username, password_enc, from_address FROM tenant_relays \
         WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let sealed: Option<Vec<u8>> = row.try_get("password_enc")?;
    let password = match sealed {
        Some(sealed) => {
            let key = accounts::data_key(db, master, tenant_id).await?;
            let plain = key.open(&password_purpose(tenant_id), &sealed)?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| StoreError::Corrupt("relay password is not UTF-8".into()))?;
            Some(Secret(text))
        }
        None => None,
    };
    let port: i64 = row.try_get("port")?;
    Ok(Some(RelaySettings {
        host: row.try_get("host")?,
        port: u16::try_from(port).map_err(|_| StoreError::Corrupt("relay port".into()))?,
        security: row.try_get("security")?,
        username: row.try_get("username")?,
        password,
        from: row.try_get("from_address")?,
    }))
}

/// Removes a tenant's relay (its mail goes through the global one again).
pub async fn clear(db: &Db, tenant_id: i64) -> Result<bool, StoreError> {
    let done = db
        .durably(
            sqlx::query("DELETE FROM tenant_relays WHERE tenant_id = $1")
                .bind(tenant_id)
                .execute(&db.writer),
        )
        .await?;
    Ok(done.rows_affected() == 1)
}
