//! Tenants' branding as stored (`crate::branding` holds the rules for what is accepted).

use super::StoreError;
use crate::db::{Db, now_ms};

/// A tenant's branding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    /// The name recipients see.
    pub display_name: String,
    /// `#rrggbb`.
    pub colour: String,
    /// Whether there is a logo.
    pub has_logo: bool,
    /// Last changed, ms (a logo's address carries it, so browsers fetch a new one).
    pub updated_at: i64,
}

/// Tenant `tenant_id`'s branding, if it has one.
pub async fn get(db: &Db, tenant_id: i64) -> Result<Option<Branding>, StoreError> {
    let sql = "SELECT display_name, colour, logo IS NOT NULL, updated_at FROM tenant_branding \
               WHERE tenant_id = $1";
    let row: Option<(String, String, bool, i64)> =
        db.fetch_optional(sql, &[tenant_id.into()]).await?;
    Ok(row.map(|(display_name, colour, has_logo, updated_at)| Branding {
        display_name,
        colour,
        has_logo,
        updated_at,
    }))
}

/// Sets tenant `tenant_id`'s name and colour (checked by the caller), keeping its logo.
pub async fn set(db: &Db, tenant_id: i64, name: &str, colour: &str) -> Result<(), StoreError> {
    let sql = "INSERT INTO tenant_branding (tenant_id, display_name, colour, updated_at) \
               VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE \
               SET display_name = $2, colour = $3, updated_at = $4";
    db.execute(sql, &[tenant_id.into(), name.into(), colour.into(), now_ms().into()]).await?;
    Ok(())
}

/// Sets (or with `None` removes) tenant `tenant_id`'s logo: its bytes and media type. The
/// tenant has its name and colour already.
pub async fn set_logo(
    db: &Db,
    tenant_id: i64,
    logo: Option<(&[u8], &str)>,
) -> Result<bool, StoreError> {
    let (bytes, kind) = logo.map_or((None, None), |(b, t)| (Some(b), Some(t)));
    let sql = "UPDATE tenant_branding SET logo = $1, logo_type = $2, updated_at = $3 \
               WHERE tenant_id = $4";
    let args = [bytes.into(), kind.into(), now_ms().into(), tenant_id.into()];
    Ok(db.execute(sql, &args).await? == 1)
}

/// Tenant `tenant_id`'s logo: its bytes and media type.
pub async fn logo(db: &Db, tenant_id: i64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
    let sql = "SELECT logo, logo_type FROM tenant_branding WHERE tenant_id = $1 \
               AND logo IS NOT NULL";
    let row: Option<(Vec<u8>, String)> = db.fetch_optional(sql, &[tenant_id.into()]).await?;
    Ok(row)
}
