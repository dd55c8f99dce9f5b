//! What every request handler can reach.
//!
//! With several nodes behind a load balancer, nothing a request depends on may live only in
//! one node's memory. What a node does keep, and why that is safe:
//!
//! - `db`, `blobs`: handles to what all nodes share (PostgreSQL, S3). Sessions, one-time
//!   codes, lockouts, sign-in counts (`ratelimit`), upload offsets and segments, the mail
//!   queue and the audit log are all in there.
//! - `master`: the same key on every node (IT gives each node `SEALPOST_MASTER_KEY`).
//! - `keys`: a copy of the database's platform keys, refreshed within
//!   `startup::KEY_REFRESH` of a rotation.
//! - `settings`, `public_url`: each node's own configuration (the same on all, as a rule).
//! - `health`: this node's own readiness, by design (`routes::system`).
//!
//! Elsewhere: the rendered-body cache (`center::html`: immutable bodies, access decided per
//! request), tenants' relay settings in the mail worker (`notify`: at most a minute stale),
//! per-address connection counts (`conn`: this node's sockets, by design), metrics
//! (`telemetry`: each node's own, scraped per node), the audit chain's remembered head
//! (`db::query::ChainHead`: a guess checked under the database's lock), and SQLite's group
//! commit (`group_sync`: one process's commits).

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
