//! What every request handler can reach.

use std::sync::Arc;

use tokio::sync::RwLock;

use crate::blob::BlobStore;
use crate::config::Settings;
use crate::db::Db;
use crate::secrets::SealingKey;
use crate::store::platform_keys::PlatformKeys;

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// Database.
    pub db: Db,
    /// The master key (opens tenant data keys and platform keys).
    pub master: Arc<SealingKey>,
    /// Platform key pairs, a copy of the database's: reloaded when an envelope names a key
    /// this node has not loaded, and within `startup::KEY_REFRESH` of a rotation elsewhere.
    pub keys: Arc<RwLock<PlatformKeys>>,
    /// Envelope storage.
    pub blobs: BlobStore,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Base URL for links, without a trailing slash.
    pub public_url: String,
    /// This node's health and readiness: the last write probe, and whether it is shutting
    /// down (see `routes::system`).
    pub health: Arc<crate::routes::system::NodeHealth>,
}
