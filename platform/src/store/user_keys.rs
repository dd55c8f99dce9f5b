//! Users' own public keys and tenants' compliance keys: what a sender wraps a message's file
//! key for besides the platform.

use sealpost_envelope::PublicKey;
use serde::Serialize;

use super::StoreError;
use crate::db::{Db, now_ms};

/// A registered public key.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
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
    let (key_id, spki) = (key.key_id().to_hex(), key.spki_der().to_vec());
    db.write(move |mut tx| {
        Box::pin(async move {
            let key_id = key_id.as_str();
            tx.execute("UPDATE user_keys SET active = 0 WHERE user_id = $1", &[user_id.into()])
                .await?;
            let activate = "UPDATE user_keys SET active = 1 WHERE user_id = $1 AND key_id = $2";
            if tx.execute(activate, &[user_id.into(), key_id.into()]).await? == 0 {
                let insert = "INSERT INTO user_keys (user_id, key_id, public_spki, active, created_at) \
                              VALUES ($1, $2, $3, 1, $4)";
                let args = [user_id.into(), key_id.into(), spki.as_slice().into(), now_ms().into()];
                tx.execute(insert, &args).await?;
            }
            Ok(())
        })
    })
    .await
}

/// The user's keys, the active one first.
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<RegisteredKey>, StoreError> {
    let sql = "SELECT public_spki, active, created_at FROM user_keys WHERE user_id = $1 \
               ORDER BY active DESC, id DESC";
    let rows: Vec<(Vec<u8>, i64, i64)> = db.fetch_all(sql, &[user_id.into()]).await?;
    rows.iter().map(|(spki, active, at)| to_registered(spki, *active, *at)).collect()
}

/// The active key of the user with this address, if they registered one.
pub async fn active_for(db: &Db, email: &str) -> Result<Option<RegisteredKey>, StoreError> {
    let sql = "SELECT k.public_spki, k.active, k.created_at \
               FROM user_keys k JOIN users u ON u.id = k.user_id \
               WHERE u.email = $1 AND k.active = 1";
    let row: Option<(Vec<u8>, i64, i64)> = db.fetch_optional(sql, &[email.into()]).await?;
    row.map(|(spki, active, at)| to_registered(&spki, active, at)).transpose()
}

/// Sets (or clears) a tenant's compliance key.
pub async fn set_compliance_key(
    db: &Db,
    tenant_id: i64,
    key: Option<&PublicKey>,
) -> Result<(), StoreError> {
    let spki = key.map(|k| k.spki_der().to_vec());
    let sql = "UPDATE tenants SET compliance_spki = $1 WHERE id = $2";
    db.execute(sql, &[spki.as_deref().into(), tenant_id.into()]).await?;
    Ok(())
}

/// A tenant's compliance key, if set.
pub async fn compliance_key(db: &Db, tenant_id: i64) -> Result<Option<RegisteredKey>, StoreError> {
    let sql = "SELECT compliance_spki FROM tenants WHERE id = $1";
    let (spki,): (Option<Vec<u8>>,) = db.fetch_one(sql, &[tenant_id.into()]).await?;
    spki.map(|s| to_registered(&s, 1, 0)).transpose()
}
