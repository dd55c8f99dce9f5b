//! Integration tests of the helper: the real binary, a real platform, a real keychain.
//!
//! Run through `./scripts/test` (or `scripts/with-keyring cargo test -p sealpost-helper`):
//! the keychain tests need a Secret Service, which that script starts (gnome-keyring in a
//! private D-Bus session).

mod bridge;
mod common;
mod faults;
mod host;
mod install;
mod mime;
mod send;
