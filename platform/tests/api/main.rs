//! The platform's API, end to end over HTTPS: real server, real database, real envelopes, one
//! file per resource (`spawn_app()` in `helpers`).
//! Run on PostgreSQL too with `SEALPOST_TEST_DATABASE_URL=postgres://…/postgres`.

mod account;
mod console;
mod helpers;
mod keys;
mod limits;
mod messages;
mod outlook;
mod policy;
mod storage;
#[path = "../support/mod.rs"]
mod support;
mod system;
