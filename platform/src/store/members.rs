//! A tenant's members as their administrators see them: listed and searched, their role
//! changed, disabled (kept, with their history, but refused at sign-in and on every device
//! token) and enabled again, their second factor reset. Every statement is scoped by the
//! tenant: a member of another organisation is simply not found.

use serde::Serialize;

use super::StoreError;
use crate::db::{Db, lite_row, now_ms};
use crate::domain::Role;

/// Members shown on one page of the list.
pub const PAGE: i64 = 100;

/// A member, as listed.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Member {
    /// User id.
    pub id: i64,
    /// Their address.
    pub email: String,
    /// `sender`, `admin` or `compliance`.
    pub role: String,
    /// Added, ms.
    pub created_at: i64,
    /// Disabled since, ms.
    pub disabled_at: Option<i64>,
    /// 1 when their second factor is on.
    pub totp_enabled: i64,
    /// Device tokens not revoked.
    pub devices: i64,
    /// 1 when they are one of the platform's operators.
    pub operator: i64,
    /// The name they are shown by, if set.
    pub display_name: Option<String>,
}

lite_row!(Member {
    id,
    email,
    role,
    created_at,
    disabled_at,
    totp_enabled,
    devices,
    operator,
    display_name
});

impl Member {
    /// Their role (an unknown stored role reads as a sender: the least it could be).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Sender)
    }
}

/// One statement's columns for [`Member`].
macro_rules! member_columns {
    () => {
        "SELECT u.id, u.email, u.role, u.created_at, u.disabled_at, u.totp_enabled, u.operator, \
         u.display_name, \
         (SELECT COUNT(*) FROM device_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) \
         AS devices FROM users u "
    };
}

/// Tenant `tenant_id`'s members whose address contains `search` (all when empty), by
/// address, at most [`PAGE`] after the address `after`.
pub async fn list(
    db: &Db,
    tenant_id: i64,
    search: &str,
    after: &str,
) -> Result<Vec<Member>, StoreError> {
    let sql = concat!(
        member_columns!(),
        "WHERE u.tenant_id = $1 AND u.email LIKE $2 ESCAPE '\\' AND u.email > $3 \
         ORDER BY u.email LIMIT $4"
    );
    let pattern = format!("%{}%", super::audit::like_text(&search.to_lowercase()));
    let args = [tenant_id.into(), pattern.as_str().into(), after.into(), PAGE.into()];
    db.fetch_all(sql, &args).await
}

/// Tenant `tenant_id`'s member with address `email`.
pub async fn find(db: &Db, tenant_id: i64, email: &str) -> Result<Option<Member>, StoreError> {
    let sql = concat!(member_columns!(), "WHERE u.tenant_id = $1 AND u.email = $2");
    db.fetch_optional(sql, &[tenant_id.into(), email.into()]).await
}

/// How many enabled administrators tenant `tenant_id` has.
pub async fn active_admins(db: &Db, tenant_id: i64) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM users \
               WHERE tenant_id = $1 AND role = 'admin' AND disabled_at IS NULL";
    let (n,): (i64,) = db.fetch_one(sql, &[tenant_id.into()]).await?;
    Ok(n)
}

/// Sets member `user_id`'s role.
pub async fn set_role(db: &Db, user_id: i64, role: Role) -> Result<(), StoreError> {
    let sql = "UPDATE users SET role = $1 WHERE id = $2";
    db.execute(sql, &[role.as_str().into(), user_id.into()]).await?;
    Ok(())
}

/// Disables member `user_id` (now) or enables them again. Disabling revokes their device
/// tokens, so enabling them again does not bring back a device that was signed in.
pub async fn set_disabled(db: &Db, user_id: i64, disabled: bool) -> Result<(), StoreError> {
    let now = now_ms();
    if disabled {
        let sql = "UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL";
        db.execute(sql, &[now.into(), user_id.into()]).await?;
        let sql = "UPDATE device_tokens SET revoked_at = $1 \
                   WHERE user_id = $2 AND revoked_at IS NULL";
        db.execute(sql, &[now.into(), user_id.into()]).await?;
    } else {
        let sql = "UPDATE users SET disabled_at = NULL, failed_logins = 0, locked_until = 0 \
                   WHERE id = $1";
        db.execute(sql, &[user_id.into()]).await?;
    }
    Ok(())
}

/// Tenant `tenant_id`'s name (`None`: there is no such tenant).
pub async fn tenant_name(db: &Db, tenant_id: i64) -> Result<Option<String>, StoreError> {
    let sql = "SELECT name FROM tenants WHERE id = $1";
    Ok(db.fetch_optional::<(String,)>(sql, &[tenant_id.into()]).await?.map(|(n,)| n))
}

/// How many members tenant `tenant_id` has (disabled ones too).
pub async fn count(db: &Db, tenant_id: i64) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM users WHERE tenant_id = $1";
    let (n,): (i64,) = db.fetch_one(sql, &[tenant_id.into()]).await?;
    Ok(n)
}

/// Tenant `tenant_id`'s member with id `id`.
pub async fn by_id(db: &Db, tenant_id: i64, id: i64) -> Result<Option<Member>, StoreError> {
    let sql = concat!(member_columns!(), "WHERE u.tenant_id = $1 AND u.id = $2");
    db.fetch_optional(sql, &[tenant_id.into(), id.into()]).await
}

/// Sets (or with `None` clears) member `user_id`'s display name (checked by the caller).
pub async fn set_display_name(db: &Db, user_id: i64, name: Option<&str>) -> Result<(), StoreError> {
    let sql = "UPDATE users SET display_name = $1 WHERE id = $2";
    db.execute(sql, &[name.into(), user_id.into()]).await?;
    Ok(())
}

/// The display name of the member with address `email`, if there is one with a name.
pub async fn display_name_of(db: &Db, email: &str) -> Result<Option<String>, StoreError> {
    let sql = "SELECT display_name FROM users WHERE email = $1";
    let row: Option<(Option<String>,)> = db.fetch_optional(sql, &[email.into()]).await?;
    Ok(row.and_then(|(n,)| n))
}
