//! Signing this computer in to a platform, and everything that needs the sign-in.
//!
//! What is secret goes to the keychain: the device token and the user's private key. What is
//! not goes to the sign-in record (`enrolment.json`, see [`Paths::sign_in_file`]) in the user's data folder: the platform, the user, the
//! platform key pinned at sign-in, and the user's public key.

use std::sync::Arc;

use sealpost_envelope::{PrivateKey, PublicKey, RsaBits};
use sealpost_policy::Policy;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::client::{PlatformClient, PlatformKey};
use crate::config::{Paths, Settings, write_private_file};
use crate::error::{HelperError, Result};
use crate::keychain::Keychain;

/// The record of this computer's sign-in (no secrets).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct SignIn {
    /// The platform's address.
    pub platform: String,
    /// The signed-in user.
    pub email: String,
    /// `sender` or `admin`.
    pub role: String,
    /// The device token's id on the platform.
    pub token_id: i64,
    /// This device's name on the platform.
    pub device: String,
    /// The platform key pinned at sign-in.
    pub platform_key: PlatformKey,
    /// The user's own public key (its private half is in the keychain).
    pub own_public_key_pem: String,
    /// The user's own key id.
    pub own_key_id: String,
}

impl SignIn {
    fn account(&self, what: &str) -> String {
        account(&self.platform, &self.email, what)
    }
}

fn account(platform: &str, email: &str, what: &str) -> String {
    format!("{what}:{email}@{platform}")
}

/// What `status` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Whether this computer is signed in (a sign-in record and its token exist).
    pub signed_in: bool,
    /// The platform.
    pub platform: Option<String>,
    /// The user.
    pub email: Option<String>,
    /// The pinned platform key id.
    pub platform_key_id: Option<String>,
    /// The user's own key id.
    pub own_key_id: Option<String>,
    /// `valid`, `revoked`, `missing`, `unknown` (platform unreachable) or `not_checked`.
    pub token: &'static str,
}

/// The helper's context: settings, folders, keychain.
#[derive(Clone, Debug)]
pub struct Context {
    /// Effective settings.
    pub settings: Arc<Settings>,
    /// The user's folders.
    pub paths: Arc<Paths>,
    /// The keychain.
    pub keychain: Keychain,
}

impl Context {
    /// The context for the current user with the native keychain.
    pub fn for_current_user() -> Result<Context> {
        let paths = Paths::for_current_user()?;
        let settings = Settings::load(&paths)?;
        Ok(Context {
            settings: Arc::new(settings),
            paths: Arc::new(paths),
            keychain: Keychain::native(),
        })
    }

    /// The saved sign-in record, if any.
    pub fn saved_sign_in(&self) -> Result<Option<SignIn>> {
        let path = self.paths.sign_in_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                HelperError::Config(format!("{} is damaged ({e}); sign in again", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The platform to use: IT's setting, else the one given, else the signed-in one.
    pub fn platform(&self, given: Option<&str>) -> Result<String> {
        let chosen = self.settings.platform.as_deref().or(given);
        chosen.map(str::to_string).ok_or_else(|| {
            HelperError::Config("no platform address: pass --platform https://…".into())
        })
    }

    /// Signs in: pins the platform key, stores the device token, and creates and registers
    /// the user's own key pair on first sign-in.
    pub async fn sign_in(
        &self,
        platform: Option<&str>,
        email: &str,
        password: &str,
        totp: Option<&str>,
        device: &str,
    ) -> Result<SignIn> {
        if let (Some(it), Some(given)) = (&self.settings.platform, platform) {
            let given = crate::config::normalise_platform(given).map_err(HelperError::Config)?;
            if &given != it {
                return Err(HelperError::Config(format!(
                    "IT set the platform to {it}; signing in to {given} is not allowed"
                )));
            }
        }
        let platform = self.platform(platform)?;
        let email = email.trim().to_lowercase();
        let client = PlatformClient::new(&platform, &self.settings)?;
        let key = client.platform_key().await?;
        check_platform_key(&key, self.settings.platform_key_id.as_deref())?;
        let answer = client.sign_in(&email, password, totp, device).await?;
        let signed_in = client.clone().with_token(answer.token.clone());

        let keychain = self.keychain.clone();
        let key_account = account(&platform, &email, "private-key");
        let own = blocking(move || own_key(&keychain, &key_account)).await?;
        let own_public_key_pem = own.public_key().to_pem()?;
        signed_in.register_key(&own_public_key_pem).await?;

        let sign_in = SignIn {
            platform,
            email: answer.user.email,
            role: answer.user.role,
            token_id: answer.token_id,
            device: device.to_string(),
            platform_key: key,
            own_key_id: own.key_id().to_hex(),
            own_public_key_pem,
        };
        let keychain = self.keychain.clone();
        let token_account = sign_in.account("device-token");
        let token = answer.token;
        blocking(move || keychain.put(&token_account, token.as_bytes())).await?;
        let json = serde_json::to_vec_pretty(&sign_in).expect("serialisable");
        write_private_file(&self.paths.sign_in_file(), &json)?;
        tracing::info!(platform = %sign_in.platform, email = %sign_in.email, "signed in");
        Ok(sign_in)
    }

    /// Signs out: revokes the token on the platform (when it can be reached), deletes it from
    /// the keychain and forgets the sign-in record. The user's key pair stays, so messages sealed
    /// for it can still be opened after signing in again. Returns whether the platform
    /// confirmed the revocation.
    pub async fn sign_out(&self) -> Result<bool> {
        let Some(e) = self.saved_sign_in()? else { return Ok(false) };
        let revoked = match self.signed_in_client(&e).await {
            Ok(client) => match client.revoke_current_token().await {
                Ok(()) | Err(HelperError::TokenRevoked) => true,
                Err(err) => {
                    tracing::warn!(error = %err, "could not revoke the token on the platform");
                    false
                }
            },
            Err(_) => false,
        };
        let keychain = self.keychain.clone();
        let token_account = e.account("device-token");
        blocking(move || keychain.delete(&token_account)).await?;
        std::fs::remove_file(self.paths.sign_in_file())?;
        let _ = std::fs::remove_file(self.paths.policy_cache_file());
        tracing::info!(revoked, "signed out");
        Ok(revoked)
    }

    /// Where this computer stands; with `check`, asks the platform whether the token works.
    pub async fn status(&self, check: bool) -> Result<Status> {
        let Some(e) = self.saved_sign_in()? else {
            return Ok(Status {
                signed_in: false,
                platform: self.settings.platform.clone(),
                email: None,
                platform_key_id: None,
                own_key_id: None,
                token: "missing",
            });
        };
        let token = match self.signed_in_client(&e).await {
            Err(HelperError::NotSignedIn) => "missing",
            Err(err) => return Err(err),
            Ok(_) if !check => "not_checked",
            Ok(client) => match client.me().await {
                Ok(_) => "valid",
                Err(HelperError::TokenRevoked) => "revoked",
                Err(_) => "unknown",
            },
        };
        Ok(Status {
            signed_in: token != "missing",
            platform: Some(e.platform),
            email: Some(e.email),
            platform_key_id: Some(e.platform_key.key_id),
            own_key_id: Some(e.own_key_id),
            token,
        })
    }

    /// A client signed in with this sign-in's token.
    pub async fn signed_in_client(&self, e: &SignIn) -> Result<PlatformClient> {
        let keychain = self.keychain.clone();
        let token_account = e.account("device-token");
        let token = blocking(move || keychain.get(&token_account))
            .await?
            .ok_or(HelperError::NotSignedIn)?;
        let token = String::from_utf8(token.to_vec())
            .map_err(|_| HelperError::Keychain("the stored token is damaged".into()))?;
        Ok(PlatformClient::new(&e.platform, &self.settings)?.with_token(Zeroizing::new(token)))
    }

    /// The sign-in record and a signed-in client, or `NotSignedIn`.
    pub async fn connect(&self) -> Result<(SignIn, PlatformClient)> {
        let e = self.saved_sign_in()?.ok_or(HelperError::NotSignedIn)?;
        let client = self.signed_in_client(&e).await?;
        Ok((e, client))
    }

    /// The tenant policy: fresh from the platform when the cached copy is older than
    /// `policy_max_age`, else the cached copy; the cached copy (however old) when the platform
    /// cannot be reached; the fail-closed defaults when there is none.
    pub async fn policy(&self, client: Option<&PlatformClient>) -> Policy {
        let path = self.paths.policy_cache_file();
        let cached =
            std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Policy>(&b).ok());
        let age =
            std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let fresh_enough =
            cached.is_some() && age.is_some_and(|a| a < self.settings.policy_max_age);
        if let (false, Some(client)) = (fresh_enough, client) {
            match client.policy().await {
                Ok(p) => {
                    let json = serde_json::to_vec(&p).expect("serialisable");
                    if let Err(e) = write_private_file(&path, &json) {
                        tracing::warn!(error = %e, "could not cache the policy");
                    }
                    return p;
                }
                Err(e) => tracing::warn!(error = %e, "using the cached policy"),
            }
        }
        cached.unwrap_or_default()
    }

    /// The user's own private key, from the keychain.
    pub async fn own_private_key(&self, e: &SignIn) -> Result<PrivateKey> {
        let keychain = self.keychain.clone();
        let key_account = e.account("private-key");
        let pem = blocking(move || keychain.get(&key_account)).await?.ok_or_else(|| {
            HelperError::Keychain("the private key is missing; sign in again".into())
        })?;
        Ok(PrivateKey::parse_pkcs8(&pem)?)
    }
}

/// Checks the platform key against what IT provisioned, if anything.
fn check_platform_key(key: &PlatformKey, expected: Option<&str>) -> Result<()> {
    let parsed = PublicKey::parse(key.public_key_pem.as_bytes())?;
    let actual = parsed.key_id().to_hex();
    if actual != key.key_id {
        return Err(HelperError::KeyPinMismatch { pinned: key.key_id.clone(), offered: actual });
    }
    match expected {
        Some(want) if want != actual => {
            Err(HelperError::KeyPinMismatch { pinned: want.to_string(), offered: actual })
        }
        _ => Ok(()),
    }
}

/// The user's key pair: the one in the keychain, or a new one stored there.
fn own_key(keychain: &Keychain, key_account: &str) -> Result<PrivateKey> {
    if let Some(pem) = keychain.get(key_account)? {
        return Ok(PrivateKey::parse_pkcs8(&pem)?);
    }
    let key = PrivateKey::generate(RsaBits::Rsa3072)?;
    keychain.put(key_account, key.to_pkcs8_pem()?.as_bytes())?;
    Ok(key)
}

/// Runs blocking work (keychain, key generation) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| HelperError::Io(std::io::Error::other(e)))?
}
