//! Users' own public keys and tenants' compliance keys: what a sender wraps a message's file
//! key for besides the platform.

use sealpost_envelope::PublicKey;
use serde::Serialize;

use super::StoreError;
use crate::db::{Db, now_ms};

/// A registered public key.
#[derive(Clone, Debug, Serialize)]
pub struct RegisteredKey {
    /// Hex SHA-256 of the SPKI.
    pub key_id: String,
    /// PEM.
    pub public_key_pem: String,
    /// Whether new messages are wrapped for it.
    pub active: bool,
    /// Registered, ms.
    pub created_at: i64,
}

fn to_registered(spki: &[u8], active: i64, created_at: i64) -> Result<RegisteredKey, StoreError> {
    let key = PublicKey::from_spki_der(spki)
        .map_err(|e| StoreError::Corrupt(format!("stored key: {e}")))?;
    Ok(RegisteredKey {
        key_id: key.key_id().to_hex(),
        public_key_pem: key.to_pem().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        active: active == 1,
        created_at,
    })
}

/// Makes `key` the user's active key; a previous one is kept, retired, for older messages.
/// Registering the active key again changes nothing.
pub async fn register(db: &Db, user_id: i64, key: &PublicKey) -> Result<(), StoreError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE user_keys SET active = 0 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let updated = sqlx::query("UPDATE user_keys SET active = 1 WHERE user_id = $1 AND key_id = $2")
        .bind(user_id)
        .bind(key.key_id().to_hex())
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO user_keys (user_id, key_id, public_spki, active, created_at) VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(user_id)
        .bind(key.key_id().to_hex())
        .bind(key.spki_der().to_vec())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    db.commit(tx).await?;
    Ok(())
}

/// The user's keys, the active one first.
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<RegisteredKey>, StoreError> {
    let rows: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT public_spki, active, created_at FROM user_keys WHERE user_id = $1 ORDER BY active DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|(spki, active, at)| to_registered(spki, *active, *at)).collect()
}

/// The active key of the user with this address, if they registered one.
pub async fn active_for(db: &Db, email: &str) -> Result<Option<RegisteredKey>, StoreError> {
    let row: Option<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT k.public_spki, k.active, k.created_at FROM user_keys k JOIN users u ON u.id = k.user_id \
         WHERE u.email = $1 AND k.active = 1",
    )
    .bind(email)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|(spki, active, at)| to_registered(&spki, active, at)).transpose()
}

/// Sets (or clears) a tenant's compliance key.
pub async fn set_compliance_key(
    db: &Db,
    tenant_id: i64,
    key: Option<&PublicKey>,
) -> Result<(), StoreError> {
    db.durably(
        sqlx::query("UPDATE tenants SET compliance_spki = $1 WHERE id = $2")
            .bind(key.map(|k| k.spki_der().to_vec()))
            .bind(tenant_id)
            .execute(&db.writer),
    )
    .await?;
    Ok(())
}

/// A tenant's compliance key, if set.
pub async fn compliance_key(db: &Db, tenant_id: i64) -> Result<Option<RegisteredKey>, StoreError> {
    let (spki,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT compliance_spki FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_one(&db.pool)
            .await?;
    spki.map(|s| to_registered(&s, 1, 0)).transpose()
}
