//! # sealpost-platform
//!
//! The server the helper uploads to and recipients read from: an HTTPS API (axum on rustls),
//! SQLite or PostgreSQL for delivery slips and accounts, a blob store for envelopes, and the
//! platform key that lets the Message Center open envelopes for recipients who have no keys.
//!
//! - `config`: settings (TOML + `SEALPOST_…` environment); `startup`: build and bind the app.
//! - `messages`: the life of a message (create from its delivery slip, store its envelope,
//!   finalise), the one way in for the API and the Message Center alike.
//! - `routes/`: one module per API resource; `store/`: persistence per group of tables.
//! - `secrets`: the master key and everything sealed under it; `tls`: the HTTPS certificate.
//! - `domain`: validated types (addresses, roles); the tenant policy and its evaluation are
//!   the crate `sealpost-policy`.

pub mod admin;
pub mod auth;
pub mod blob;
pub mod branding;
pub mod center;
pub mod config;
pub mod conn;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod group_sync;
pub mod harden;
pub mod messages;
pub mod notify;
pub mod outlook;
pub mod ratelimit;
pub mod reading;
pub mod routes;
pub mod secrets;
pub mod startup;
pub mod state;
pub mod store;
pub mod stub;
pub mod sweep;
pub mod telemetry;
pub mod tls;
