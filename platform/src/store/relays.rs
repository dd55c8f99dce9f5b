//! Tenants' own SMTP relays (`tenant_relays`): a tenant's mail goes through its relay rather
//! than the global one. The relay password is sealed under the tenant's data key.

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
    let sql = "INSERT INTO tenant_relays (tenant_id, host, port, security, username, \
               password_enc, from_address, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
               ON CONFLICT (tenant_id) DO UPDATE SET host = excluded.host, port = excluded.port, \
               security = excluded.security, username = excluded.username, \
               password_enc = excluded.password_enc, from_address = excluded.from_address, \
               updated_at = excluded.updated_at";
    let args = [
        tenant_id.into(),
        relay.host.as_str().into(),
        i64::from(relay.port).into(),
        relay.security.as_str().into(),
        relay.username.as_deref().into(),
        sealed.as_deref().into(),
        relay.from.as_str().into(),
        now_ms().into(),
    ];
    db.execute(sql, &args).await?;
    Ok(())
}

/// A tenant's relay, if it has one.
pub async fn get(
    db: &Db,
    master: &SealingKey,
    tenant_id: i64,
) -> Result<Option<RelaySettings>, StoreError> {
    let sql = "SELECT host, port, security, username, password_enc, from_address \
               FROM tenant_relays WHERE tenant_id = $1";
    type Columns = (String, i64, String, Option<String>, Option<Vec<u8>>, String);
    let row: Option<Columns> = db.fetch_optional(sql, &[tenant_id.into()]).await?;
    let Some((host, port, security, username, sealed, from)) = row else {
        return Ok(None);
    };
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
    Ok(Some(RelaySettings {
        host,
        port: u16::try_from(port).map_err(|_| StoreError::Corrupt("relay port".into()))?,
        security,
        username,
        password,
        from,
    }))
}

/// Removes a tenant's relay (its mail goes through the global one again).
pub async fn clear(db: &Db, tenant_id: i64) -> Result<bool, StoreError> {
    Ok(db.execute("DELETE FROM tenant_relays WHERE tenant_id = $1", &[tenant_id.into()]).await?
        == 1)
}
