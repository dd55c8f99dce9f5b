//! Secrets in the operating system's keychain: the device token and the user's private key.
//!
//! Through `keyring-core` with the native store of each system (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows). Nothing secret is ever written to a
//! file by the helper. Calls block (the Secret Service talks D-Bus), so async code runs them
//! on a blocking thread.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use zeroize::Zeroizing;

use crate::error::{HelperError, Result};

/// The service name every Sealpost secret is filed under.
const SERVICE: &str = "sealpost";

/// A handle on the keychain. The native store is opened on first use, so commands that need
/// no secret (such as `hello`) work where no keychain is running.
#[derive(Clone)]
pub struct Keychain {
    store: Arc<OnceLock<std::result::Result<Arc<CredentialStore>, String>>>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vendor = match self.store.get() {
            Some(Ok(s)) => s.vendor(),
            Some(Err(e)) => format!("unavailable: {e}"),
            None => "not opened yet".into(),
        };
        f.debug_struct("Keychain").field("store", &vendor).finish()
    }
}

impl Keychain {
    /// The operating system's keychain (opened on first use).
    pub fn native() -> Keychain {
        Keychain { store: Arc::new(OnceLock::new()) }
    }

    /// An in-memory keychain that forgets everything when dropped (unit tests).
    pub fn in_memory() -> Keychain {
        let store = keyring_core::mock::Store::new().expect("the mock store always builds");
        Keychain { store: Arc::new(OnceLock::from(Ok(store as Arc<CredentialStore>))) }
    }

    fn entry(&self, account: &str) -> Result<Entry> {
        let store = self.store.get_or_init(|| native_store().map_err(|e| e.to_string()));
        let store = store.as_ref().map_err(|e| HelperError::Keychain(e.clone()))?;
        store.build(SERVICE, account, None).map_err(unavailable)
    }

    /// Stores `secret` under `account`, replacing what was there.
    pub fn put(&self, account: &str, secret: &[u8]) -> Result<()> {
        self.entry(account)?.set_secret(secret).map_err(unavailable)
    }

    /// The secret under `account`, if there is one.
    pub fn get(&self, account: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.entry(account)?.get_secret() {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Deletes the secret under `account`; deleting nothing is fine.
    pub fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn unavailable(e: KeyringError) -> HelperError {
    HelperError::Keychain(e.to_string())
}

#[cfg(all(unix, not(target_os = "macos")))]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(windows)]
fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_delete() {
        let k = Keychain::in_memory();
        assert!(k.get("a").expect("get").is_none());
        k.put("a", b"spdt_secret").expect("put");
        k.put("b", b"other").expect("put");
        assert_eq!(
            k.get("a").expect("get").as_deref().map(Vec::as_slice),
            Some(&b"spdt_secret"[..])
        );
        k.delete("a").expect("delete");
        k.delete("a").expect("deleting twice is fine");
        assert!(k.get("a").expect("get").is_none());
        assert!(k.get("b").expect("get").is_some(), "other entries stay");
    }
}
