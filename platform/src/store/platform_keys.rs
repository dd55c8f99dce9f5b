//! The platform's RSA key pairs. New envelopes are wrapped for the active one; older keys stay
//! loaded so messages sealed before a rotation remain readable. Private keys are stored as
//! PKCS#8 sealed under the master key, and unwrap with aws-lc-rs only (via the envelope crate).

use std::sync::Arc;

use sealpost_envelope::{KeyId, PrivateKey, RsaBits};

use super::StoreError;
use crate::db::{Db, now_ms};
use crate::secrets::SealingKey;

const PURPOSE: &str = "platform private key";

/// Every platform key, the active one first.
#[derive(Clone, Debug)]
pub struct PlatformKeys {
    keys: Vec<Arc<PrivateKey>>,
}

impl PlatformKeys {
    /// The key new envelopes are wrapped for.
    pub fn active(&self) -> &Arc<PrivateKey> {
        &self.keys[0]
    }

    /// The key with this id, active or retired.
    pub fn get(&self, id: &KeyId) -> Option<&Arc<PrivateKey>> {
        self.keys.iter().find(|k| k.key_id() == *id)
    }
}

fn bits(b: u32) -> RsaBits {
    if b >= 4096 { RsaBits::Rsa4096 } else { RsaBits::Rsa3072 }
}

/// Loads all platform keys, generating the first one if there is none (reported as `true`).
pub async fn load_or_create(
    db: &Db,
    master: &SealingKey,
    key_bits: u32,
) -> Result<(PlatformKeys, bool), StoreError> {
    let sql = "SELECT private_enc FROM platform_keys ORDER BY active DESC, id DESC";
    let rows: Vec<(Vec<u8>,)> = db.fetch_all(sql, &[]).await?;
    if rows.is_empty() {
        rotate(db, master, key_bits).await?;
        return Ok((Box::pin(load_or_create(db, master, key_bits)).await?.0, true));
    }
    let keys = rows
        .into_iter()
        .map(|(sealed,)| {
            let der = master.open(PURPOSE, &sealed)?;
            PrivateKey::parse_pkcs8(&der)
                .map(Arc::new)
                .map_err(|e| StoreError::Corrupt(format!("platform key: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((PlatformKeys { keys }, false))
}

/// The active key's id (hex), as every node should be wrapping for: one indexed read.
pub async fn active_id(db: &Db) -> Result<Option<String>, StoreError> {
    Ok(active(db).await?.map(|(id, _)| id))
}

/// The active key's id (hex) and when it was made (ms).
pub async fn active(db: &Db) -> Result<Option<(String, i64)>, StoreError> {
    let sql = "SELECT key_id, created_at FROM platform_keys ORDER BY active DESC, id DESC LIMIT 1";
    db.fetch_optional(sql, &[]).await
}

/// Generates a new active key; the previous keys stay for opening older messages.
pub async fn rotate(db: &Db, master: &SealingKey, key_bits: u32) -> Result<KeyId, StoreError> {
    let key = tokio::task::spawn_blocking(move || PrivateKey::generate(bits(key_bits)))
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .map_err(|e| StoreError::Corrupt(format!("key generation: {e}")))?;
    let der = key.to_pkcs8_der().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sealed = master.seal(PURPOSE, &der)?;
    let (key_id, spki) = (key.key_id().to_hex(), key.public_key().spki_der().to_vec());
    db.write(move |mut tx| {
        Box::pin(async move {
            tx.execute("UPDATE platform_keys SET active = 0", &[]).await?;
            let insert = "INSERT INTO platform_keys \
                          (key_id, public_spki, private_enc, active, created_at) \
                          VALUES ($1, $2, $3, 1, $4)";
            let args = [
                key_id.as_str().into(),
                spki.as_slice().into(),
                sealed.as_slice().into(),
                now_ms().into(),
            ];
            tx.execute(insert, &args).await
        })
    })
    .await?;
    Ok(key.key_id())
}
