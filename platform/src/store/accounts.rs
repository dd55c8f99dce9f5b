//! Tenants, users, passwords and device tokens.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sealpost_policy::Policy;
use serde::Serialize;
use zeroize::Zeroizing;

use super::StoreError;
use crate::db::{Db, lite_row, now_ms, one_row};
use crate::domain::{EmailAddress, Role};
use crate::secrets::{SealingKey, SecretError};

/// Failed logins before an account is locked.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Prefix of device tokens, so a leaked one is recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "spdt_";

/// A signed-in user, as every authenticated route sees them.
#[derive(Clone, Debug, Serialize)]
pub struct AuthUser {
    /// User id.
    pub user_id: i64,
    /// Tenant id.
    pub tenant_id: i64,
    /// The user's address.
    pub email: String,
    /// Sender or admin.
    pub role: Role,
    /// The device token used, when signed in with one.
    #[serde(skip)]
    pub token_id: Option<i64>,
}

/// Purpose string binding a tenant's sealed data key to that tenant.
pub fn data_key_purpose(tenant_name: &str) -> String {
    format!("tenant data key:{tenant_name}")
}

/// Creates a tenant with its mail domains, a fresh data key and a policy.
pub async fn create_tenant(
    db: &Db,
    master: &SealingKey,
    name: &str,
    domains: &[String],
    policy: &Policy,
) -> Result<i64, StoreError> {
    let data_key = master.new_wrapped_key(&data_key_purpose(name))?;
    let policy_json =
        serde_json::to_string(policy).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (name, domains) = (name.to_owned(), domains.to_vec());
    db.write(move |mut tx| {
        Box::pin(async move {
            let tenant = "INSERT INTO tenants (name, data_key_enc, policy, created_at) \
                          VALUES ($1, $2, $3, $4) RETURNING id";
            let args = [
                name.as_str().into(),
                data_key[..].into(),
                policy_json.as_str().into(),
                now_ms().into(),
            ];
            let (id,): (i64,) = one_row(tx.fetch_optional(tenant, &args).await?)?;
            for d in &domains {
                let domain = "INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)";
                tx.execute(domain, &[d.to_lowercase().as_str().into(), id.into()]).await?;
            }
            Ok(id)
        })
    })
    .await
}

/// Whether any tenant exists (first start creates the bootstrap one).
pub async fn any_tenant(db: &Db) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = db.fetch_optional("SELECT id FROM tenants LIMIT 1", &[]).await?;
    Ok(row.is_some())
}

/// The tenant's policy document.
pub async fn policy(db: &Db, tenant_id: i64) -> Result<Policy, StoreError> {
    let (json,): (String,) =
        db.fetch_one("SELECT policy FROM tenants WHERE id = $1", &[tenant_id.into()]).await?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("tenant policy: {e}")))
}

/// Replaces the tenant's policy document.
pub async fn set_policy(db: &Db, tenant_id: i64, policy: &Policy) -> Result<(), StoreError> {
    let json = serde_json::to_string(policy).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = "UPDATE tenants SET policy = $1 WHERE id = $2";
    db.execute(sql, &[json.as_str().into(), tenant_id.into()]).await?;
    Ok(())
}

/// The tenant's data key, opened.
pub async fn data_key(
    db: &Db,
    master: &SealingKey,
    tenant_id: i64,
) -> Result<SealingKey, StoreError> {
    let (name, sealed): (String, Vec<u8>) = db
        .fetch_one("SELECT name, data_key_enc FROM tenants WHERE id = $1", &[tenant_id.into()])
        .await?;
    Ok(master.open_key(&data_key_purpose(&name), &sealed)?)
}

/// The tenant id by name.
pub async fn tenant_by_name(db: &Db, name: &str) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> =
        db.fetch_optional("SELECT id FROM tenants WHERE name = $1", &[name.into()]).await?;
    Ok(row.map(|r| r.0))
}

/// Hashes a password with argon2id (OWASP parameters), off the async runtime.
pub async fn hash_password(password: Zeroizing<String>) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        SystemRandom::new().fill(&mut salt).map_err(|_| SecretError::Random)?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Corrupt(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| StoreError::Corrupt(e.to_string()))?
}

/// Checks a password against an argon2id hash, off the async runtime.
pub async fn verify_password(hash: String, password: Zeroizing<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Creates a user in a tenant.
pub async fn create_user(
    db: &Db,
    tenant_id: i64,
    email: &EmailAddress,
    role: Role,
    password: Zeroizing<String>,
) -> Result<i64, StoreError> {
    create_member(db, tenant_id, email, role, password, OutsideDomains::Refuse).await
}

/// Whether a tenant's member may have an address outside the tenant's own domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutsideDomains {
    /// Only the tenant's domains (the rule).
    Refuse,
    /// A domain no tenant has, because an operator said so explicitly.
    Allow,
}

/// Creates a user in tenant `tenant_id`. A mail domain belongs to one organisation: an
/// address in another tenant's domain is always refused, and one in a domain no tenant has
/// only with [`OutsideDomains::Allow`].
pub async fn create_member(
    db: &Db,
    tenant_id: i64,
    email: &EmailAddress,
    role: Role,
    password: Zeroizing<String>,
    outside: OutsideDomains,
) -> Result<i64, StoreError> {
    match domain_owner(db, email.domain()).await? {
        Some(t) if t == tenant_id => {}
        Some(_) => {
            return Err(StoreError::Refused(format!(
                "{} belongs to another organisation: its members cannot be added here",
                email.domain()
            )));
        }
        None if outside == OutsideDomains::Allow => {}
        None => {
            return Err(StoreError::Refused(format!(
                "{} is not one of this organisation's domains; add the domain to the \
                 organisation, or allow an outside address explicitly",
                email.domain()
            )));
        }
    }
    let hash = hash_password(password).await?;
    let sql = "INSERT INTO users (tenant_id, email, role, password_hash, created_at) \
               VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let args = [
        tenant_id.into(),
        email.as_str().into(),
        role.as_str().into(),
        hash.as_str().into(),
        now_ms().into(),
    ];
    Ok(one_row::<(i64,)>(db.write_returning(sql, &args).await?)?.0)
}

/// The tenant mail domain `domain` belongs to, if any.
pub async fn domain_owner(db: &Db, domain: &str) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT tenant_id FROM tenant_domains WHERE domain = $1";
    Ok(db.fetch_optional::<(i64,)>(sql, &[domain.into()]).await?.map(|(t,)| t))
}

/// Why a sign-in was refused.
#[derive(Debug)]
pub enum LoginRefused {
    /// Wrong address or password (deliberately not saying which).
    BadCredentials,
    /// Too many failures; try again after this time (ms).
    Locked {
        /// When the lock ends.
        until: i64,
    },
    /// The password was right, and this user also needs a TOTP code.
    TotpRequired,
}

/// Checks a password (and, for users who enabled it, a TOTP code), counting failures and
/// locking the account after [`MAX_FAILED_LOGINS`]. Unknown addresses, and disabled members,
/// cost the same time as known ones and are refused the same.
pub async fn verify_login(
    db: &Db,
    master: &SealingKey,
    email: &EmailAddress,
    password: Zeroizing<String>,
    totp_code: Option<&str>,
) -> Result<Result<AuthUser, LoginRefused>, StoreError> {
    let sql = "SELECT id, tenant_id, role, password_hash, failed_logins, locked_until \
               FROM users WHERE email = $1 AND disabled_at IS NULL";
    let row: Option<(i64, i64, String, String, i64, i64)> =
        db.fetch_optional(sql, &[email.as_str().into()]).await?;
    let Some((user_id, tenant_id, role, hash, failed, locked_until)) = row else {
        // Spend the time a real check would, so timing does not reveal which accounts exist.
        let _ = verify_password(DUMMY_HASH.to_string(), password).await;
        return Ok(Err(LoginRefused::BadCredentials));
    };
    let now = now_ms();
    if locked_until > now {
        return Ok(Err(LoginRefused::Locked { until: locked_until }));
    }
    if !verify_password(hash, password).await {
        return Ok(Err(record_failure(db, user_id, failed).await?));
    }
    if super::totp::enabled(db, super::totp::Owner::User(user_id)).await? {
        let Some(code) = totp_code else { return Ok(Err(LoginRefused::TotpRequired)) };
        if !super::totp::check(db, master, super::totp::Owner::User(user_id), code).await? {
            return Ok(Err(record_failure(db, user_id, failed).await?));
        }
    }
    let sql = "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1";
    db.execute(sql, &[user_id.into()]).await?;
    let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?;
    Ok(Ok(AuthUser { user_id, tenant_id, email: email.to_string(), role, token_id: None }))
}

/// Counts a failed sign-in; locks the account when there have been too many.
async fn record_failure(
    db: &Db,
    user_id: i64,
    failed_before: i64,
) -> Result<LoginRefused, StoreError> {
    let failed = failed_before + 1;
    let lock = if failed >= MAX_FAILED_LOGINS { now_ms() + LOCKOUT_MS } else { 0 };
    let sql = "UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3";
    let counted = if lock > 0 { 0 } else { failed };
    db.execute(sql, &[counted.into(), lock.into(), user_id.into()]).await?;
    Ok(if lock > 0 { LoginRefused::Locked { until: lock } } else { LoginRefused::BadCredentials })
}

/// A valid argon2id hash of a random password nobody knows, for constant-time refusals.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2VhbHBvc3QtZHVtbXk$2Sxd6n8xWcBvH9k4Ib2u0n4oQmD7c9QOZ1yTQb0C5pA";

fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// Issues a device token (256 random bits) for a user. Only its SHA-256 is stored; the token
/// is returned once, to be kept in the user's OS keychain by the helper.
pub async fn create_device_token(
    db: &Db,
    user_id: i64,
    label: &str,
) -> Result<(i64, Zeroizing<String>), StoreError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    SystemRandom::new().fill(&mut raw[..]).map_err(|_| SecretError::Random)?;
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", B64URL.encode(&raw[..])));
    let sql = "INSERT INTO device_tokens (user_id, token_hash, label, created_at) \
               VALUES ($1, $2, $3, $4) RETURNING id";
    let hash = token_hash(&token);
    let args = [user_id.into(), hash[..].into(), label.into(), now_ms().into()];
    let (id,): (i64,) = one_row(db.write_returning(sql, &args).await?)?;
    Ok((id, token))
}

/// The user a device token belongs to, if the token is known and not revoked.
pub async fn authenticate_token(db: &Db, token: &str) -> Result<Option<AuthUser>, StoreError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    type Row = (i64, i64, i64, String, String, Option<i64>);
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT t.id, u.id, u.tenant_id, u.email, u.role, t.last_used_at FROM device_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
            &[token_hash(token)[..].into()],
        )
        .await?;
    let Some((token_id, user_id, tenant_id, email, role, last_used)) = row else { return Ok(None) };
    // "Last used" is for people reviewing their devices: minute precision is plenty, and
    // writing it on every request would make every read a write.
    let now = now_ms();
    if last_used.is_none_or(|t| now - t > 60_000) {
        db.execute(
            "UPDATE device_tokens SET last_used_at = $1 WHERE id = $2",
            &[now.into(), token_id.into()],
        )
        .await?;
    }
    let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?;
    Ok(Some(AuthUser { user_id, tenant_id, email, role, token_id: Some(token_id) }))
}

/// A device token as listed to its owner (never the token itself).
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Token id.
    pub id: i64,
    /// What the user called the device.
    pub label: String,
    /// Created, ms.
    pub created_at: i64,
    /// Last used, ms.
    pub last_used_at: Option<i64>,
    /// Revoked, ms.
    pub revoked_at: Option<i64>,
}

lite_row!(TokenInfo { id, label, created_at, last_used_at, revoked_at });

/// The user's device tokens.
pub async fn list_tokens(db: &Db, user_id: i64) -> Result<Vec<TokenInfo>, StoreError> {
    let sql = "SELECT id, label, created_at, last_used_at, revoked_at FROM device_tokens \
               WHERE user_id = $1 ORDER BY id";
    db.fetch_all(sql, &[user_id.into()]).await
}

/// Revokes one of the user's tokens; false if the user has no such token.
pub async fn revoke_token(db: &Db, user_id: i64, token_id: i64) -> Result<bool, StoreError> {
    let sql = "UPDATE device_tokens SET revoked_at = $1 \
               WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL";
    Ok(db.execute(sql, &[now_ms().into(), token_id.into(), user_id.into()]).await? == 1)
}

/// Makes member `user_id` one of the platform's operators, or not.
pub async fn set_operator(db: &Db, user_id: i64, operator: bool) -> Result<(), StoreError> {
    let sql = "UPDATE users SET operator = $1 WHERE id = $2";
    db.execute(sql, &[i64::from(operator).into(), user_id.into()]).await?;
    Ok(())
}

/// Whether member `user_id` is one of the platform's operators.
pub async fn is_operator(db: &Db, user_id: i64) -> Result<bool, StoreError> {
    let sql = "SELECT operator FROM users WHERE id = $1";
    Ok(db.fetch_optional::<(i64,)>(sql, &[user_id.into()]).await?.is_some_and(|(o,)| o == 1))
}

/// Adds mail domain `domain` to tenant `tenant_id`.
pub async fn add_domain(db: &Db, tenant_id: i64, domain: &str) -> Result<(), StoreError> {
    let sql = "INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)";
    db.execute(sql, &[domain.into(), tenant_id.into()]).await?;
    Ok(())
}

/// The tenant member `user_id` belongs to.
pub async fn tenant_of(db: &Db, user_id: i64) -> Result<i64, StoreError> {
    let (t,): (i64,) =
        db.fetch_one("SELECT tenant_id FROM users WHERE id = $1", &[user_id.into()]).await?;
    Ok(t)
}

/// The user id for an address.
pub async fn user_by_email(
    db: &Db,
    email: &EmailAddress,
) -> Result<Option<(i64, i64)>, StoreError> {
    let sql = "SELECT id, tenant_id FROM users WHERE email = $1";
    db.fetch_optional(sql, &[email.as_str().into()]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        // If it did not parse, unknown addresses would be refused at once and timing would tell
        // which accounts exist.
        let h = PasswordHash::new(DUMMY_HASH).expect("parses");
        assert_eq!(h.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"anything", &h).is_err());
    }
}
