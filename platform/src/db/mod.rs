//! The database: SQLite or PostgreSQL behind one [`Db`], and the schema migrations for each.
//!
//! The store speaks only the engine-neutral methods of [`query`] (`Db::fetch_*`,
//! `Db::execute`, `Db::write_returning`, `Db::write` with a [`Tx`]): on SQLite they run through
//! `lite` — on the calling thread, or a whole write transaction in one trip to the writer —
//! and on PostgreSQL through sqlx's `Any` driver. Every statement is a fixed string (a filter
//! left out is a NULL that turns its condition off), so no SQL is ever built from input. On
//! SQLite, sqlx's one connection only runs the migrations at start; another process on the
//! same file (an `admin` command beside the server) meets the server at SQLite's lock, where
//! the busy timeout makes one wait for the other.
//!
//! Queries are written once, in the SQL both engines accept: `$1, $2, …` placeholders (SQLite
//! reads them as named parameters, numbered in order of first appearance, so every query
//! mentions them in ascending order), integer milliseconds for times, `RETURNING` for new ids.
//! Migrations are embedded and applied by a small runner here rather than `sqlx::migrate!`,
//! which would compile sqlx's macro crate for both drivers just to embed two files.
//!
//! Several nodes share one PostgreSQL database. When they start together, one migrates and the
//! others wait for it ([`Db::exclusively`]: a session advisory lock, so a node that dies
//! mid-migration lets go of it), then find nothing left to do. A node whose binary is older
//! than the schema — a newer release has migrated the database — refuses to start, naming both
//! versions, rather than write to tables it does not know. (Nodes already running when a newer
//! one migrates carry on: a migration must leave what the release before it reads and writes
//! working — add columns and tables, drop them a release later — so that a rolling upgrade
//! never has an old node meet a schema it cannot use.)
//!
//! Every PostgreSQL connection runs at `READ COMMITTED`, whatever the server's default: each
//! statement sees what committed before it began, which the audit chain (a statement after its
//! lock sees the newest row) and the mail queue's `SKIP LOCKED` claims are written for.

use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor};

use crate::group_sync::GroupSync;

mod lite;
pub mod query;

pub(crate) use query::lite_row;
pub use query::{Arg, Row, Tx, one_row};

/// Which engine the pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A schema migration: written once in SQLite's dialect, which [`for_engine`] translates, or
/// (`postgres`) written for PostgreSQL separately where the dialects part ways.
struct Migration {
    version: i64,
    sql: &'static str,
    postgres: Option<&'static str>,
}

const fn shared(version: i64, sql: &'static str) -> Migration {
    Migration { version, sql, postgres: None }
}

/// The session advisory lock that start-up work takes on PostgreSQL (see [`Db::exclusively`]);
/// the audit log's append lock is another key (`store::audit`).
const STARTUP_LOCK: i64 = 7_369_826_392;

/// Migrations in order.
const MIGRATIONS: &[Migration] = &[
    shared(1, include_str!("../../migrations/0001_init.sql")),
    shared(2, include_str!("../../migrations/0002_user_keys.sql")),
    shared(3, include_str!("../../migrations/0003_totp.sql")),
    shared(4, include_str!("../../migrations/0004_notifications.sql")),
    shared(5, include_str!("../../migrations/0005_tenant_relays.sql")),
    shared(6, include_str!("../../migrations/0006_center.sql")),
    shared(7, include_str!("../../migrations/0007_recipient_accounts.sql")),
    Migration {
        version: 8,
        sql: include_str!("../../migrations/0008_center_authors.sql"),
        postgres: Some(include_str!("../../migrations/0008_center_authors.postgres.sql")),
    },
    shared(9, include_str!("../../migrations/0009_mailboxes.sql")),
    shared(10, include_str!("../../migrations/0010_recipient_links.sql")),
    shared(11, include_str!("../../migrations/0011_recipient_totp.sql")),
    Migration {
        version: 12,
        sql: include_str!("../../migrations/0012_inline_segments.sql"),
        postgres: Some(include_str!("../../migrations/0012_inline_segments.postgres.sql")),
    },
    shared(13, include_str!("../../migrations/0013_lockouts.sql")),
    shared(14, include_str!("../../migrations/0014_segment_blob_index.sql")),
    shared(15, include_str!("../../migrations/0015_envelope_size.sql")),
    shared(16, include_str!("../../migrations/0016_sign_in_attempts.sql")),
    shared(17, include_str!("../../migrations/0017_console.sql")),
    shared(18, include_str!("../../migrations/0018_reply_uploads.sql")),
    shared(19, include_str!("../../migrations/0019_center_language.sql")),
];

/// Translates a migration for `engine`. The schema keeps to a subset where three rules
/// suffice: an `INTEGER PRIMARY KEY` id becomes an identity column, integers are 64-bit, and
/// binary columns are `BYTEA`. (The PostgreSQL test suites run every migration through it.)
pub fn for_engine(sql: &str, engine: Engine) -> std::borrow::Cow<'_, str> {
    match engine {
        Engine::Sqlite => sql.into(),
        Engine::Postgres => sql
            .replace("INTEGER PRIMARY KEY,", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,")
            .replace("INTEGER", "BIGINT")
            .replace("BLOB", "BYTEA")
            .into(),
    }
}

/// The connections and their engine.
///
/// On PostgreSQL, sqlx's `pool` serves every statement. On SQLite,
/// which admits one writer at a time, the statements go to `lite`: reads on the calling
/// thread, writes queued, in order, for its one writer thread, instead of each meeting the
/// others at the database lock, where SQLite's busy handler makes the losers sleep (1, 2, 5,
/// 10 … 100 ms) — at 16 concurrent senders that sleeping was most of the ingest latency. WAL
/// lets the readers carry on while the writer writes. sqlx's one SQLite connection (`pool`)
/// only runs the migrations at start, and lets tests look at the file.
#[derive(Clone, Debug)]
pub struct Db {
    /// sqlx's connections (see above).
    pub pool: AnyPool,
    /// The engine behind them.
    pub engine: Engine,
    /// SQLite: the group commit that makes commits durable (see [`Db::commit`]).
    sync: Option<Arc<GroupSync>>,
    /// The audit chain's head as this process last saw it (see [`query::ChainHead`]).
    pub(crate) audit_head: Arc<query::ChainHead>,
    /// SQLite: the connections the engine-neutral statements of [`query`] run on.
    lite: Option<Arc<lite::Lite>>,
}

/// Creates the SQLite file readable by its owner only, if it does not exist yet. SQLite gives
/// its log (`-wal`) and shared-memory file the database file's permissions.
fn create_private(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::File::options().write(true).create_new(true).mode(0o600).open(file) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

impl Db {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                // Each connection would get a database of its own.
                return Err(sqlx::Error::Configuration(
                    "an in-memory SQLite database cannot be shared by the platform's \
                     connections; give a file (sqlite://PATH?mode=rwc)"
                        .into(),
                ));
            }
            Engine::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                "database_url must start with sqlite: or postgres:".into(),
            ));
        };
        let opts = AnyConnectOptions::from_str(url)?;
        let pool_of = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                // A SQLite connection is a file handle in this process: it cannot drop out
                // from under us the way a server connection can, so pinging it before every
                // use (one more trip to its worker thread) buys nothing.
                .test_before_acquire(engine == Engine::Postgres)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if engine == Engine::Sqlite {
                            // WAL lets readers proceed during a write; the busy timeout makes
                            // a writer of another process wait for the lock instead of failing.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // Commits write the log without syncing it; `Db::commit`
                            // syncs it for a group of them (see `group_sync`).
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                        } else {
                            conn.execute(
                                "SET SESSION CHARACTERISTICS AS TRANSACTION \
                                 ISOLATION LEVEL READ COMMITTED",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let db = match engine {
            Engine::Sqlite => {
                let file = SqliteConnectOptions::from_str(url)?.get_filename().to_path_buf();
                create_private(&file).map_err(|e| {
                    sqlx::Error::Configuration(format!("{}: {e}", file.display()).into())
                })?;
                let mut log = file.clone().into_os_string();
                log.push("-wal");
                let pool = pool_of(1).connect_with(opts).await?;
                let sync = Some(Arc::new(GroupSync::new(log.into())));
                // The pool has created the file; the migrations below fill in its schema.
                let lite = lite::Lite::open(&file).map_err(|e| {
                    sqlx::Error::Configuration(format!("{}: {e}", file.display()).into())
                })?;
                Db { pool, engine, sync, audit_head: Arc::default(), lite: Some(lite.into()) }
            }
            Engine::Postgres => {
                let pool = pool_of(16).connect_with(opts).await?;
                Db { pool, engine, sync: None, audit_head: Arc::default(), lite: None }
            }
        };
        db.exclusively(db.migrate()).await?;
        db.durable().await?;
        Ok(db)
    }

    /// Runs `work` while no other process runs start-up work on this database: migrating,
    /// and what a first start makes (the platform key, the first tenant), so processes
    /// starting together take turns. On PostgreSQL it holds a session advisory lock on a
    /// connection of its own, closed afterwards; on SQLite, an advisory lock (`flock`) on the
    /// folder that holds the database file — never the file itself, whose POSIX locks are
    /// SQLite's and would be dropped when another descriptor of it is closed. Either lock ends
    /// with the process, should it die holding it.
    pub async fn exclusively<T, E: From<sqlx::Error>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        if let Some(lite) = &self.lite {
            let folder = lite.folder();
            let locked = tokio::task::spawn_blocking(move || {
                let dir = std::fs::File::open(&folder)?;
                dir.lock()?;
                Ok::<_, std::io::Error>(dir)
            })
            .await
            .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
            .map_err(sqlx::Error::Io)?;
            let done = work.await;
            drop(locked);
            return done;
        }
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)").bind(STARTUP_LOCK).execute(&mut conn).await?;
        let done = work.await;
        // Ending the session releases the lock.
        let _ = sqlx::Connection::close(conn).await;
        done
    }

    /// The newest schema version this binary knows.
    pub fn newest_known_schema() -> i64 {
        MIGRATIONS.last().map_or(0, |m| m.version)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting for it under the busy timeout: a deferred transaction that
    /// reads first and writes later cannot wait for the lock once another writer committed,
    /// and would fail with "database is locked" under concurrent load.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.pool.begin().await,
        }
    }

    /// Commits `tx` and returns once it is durable. Every write transaction ends here, never
    /// in `tx.commit()` alone, which on SQLite is safe against a crash of this process but not
    /// yet against a power loss.
    async fn commit(&self, tx: sqlx::Transaction<'static, sqlx::Any>) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.durable().await
    }

    /// Returns once every write committed before the call is durable. PostgreSQL's commits
    /// are durable when they return; SQLite's are once the group commit has synced the log.
    pub async fn durable(&self) -> Result<(), sqlx::Error> {
        match &self.sync {
            Some(sync) => Ok(sync.durable().await?),
            None => Ok(()),
        }
    }

    /// Applies pending migrations, each in its own transaction, on one connection. On SQLite
    /// that connection runs them with foreign keys off (a table rebuild drops and renames a
    /// referenced table, which SQLite's documented procedure does that way) and checks every
    /// foreign key before each commit.
    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .await?;
        let (applied,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(&mut *conn)
                .await?;
        let known = Db::newest_known_schema();
        if let Some(applied) = applied.filter(|v| *v > known) {
            return Err(sqlx::Error::Configuration(
                format!(
                    "the database's schema is at version {applied}, newer than this \
                     sealpost-platform knows (version {known}): a newer release has migrated \
                     it. Run that release (or a later one) here; an older one must not use it"
                )
                .into(),
            ));
        }
        let sqlite = self.engine == Engine::Sqlite;
        if sqlite {
            conn.execute("PRAGMA foreign_keys = OFF").await?;
        }
        let result = async {
            for m in MIGRATIONS {
                let mut tx = match self.engine {
                    Engine::Sqlite => {
                        sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?
                    }
                    Engine::Postgres => sqlx::Connection::begin(&mut *conn).await?,
                };
                let done: Option<(i64,)> =
                    sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(m.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_some() {
                    continue;
                }
                let sql = match (self.engine, m.postgres) {
                    (Engine::Postgres, Some(pg)) => pg.into(),
                    (engine, _) => for_engine(m.sql, engine),
                };
                tx.execute(sqlx::AssertSqlSafe(sql.into_owned())).await?;
                if sqlite {
                    let broken =
                        sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *tx).await?;
                    if !broken.is_empty() {
                        return Err(sqlx::Error::Protocol(format!(
                            "migration {} leaves {} rows with broken foreign keys",
                            m.version,
                            broken.len()
                        )));
                    }
                }
                sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                    .bind(m.version)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok(())
        }
        .await;
        if sqlite {
            conn.execute("PRAGMA foreign_keys = ON").await?;
        }
        result
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_translate_to_postgres_types() {
        let pg = for_engine(MIGRATIONS[0].sql, Engine::Postgres);
        assert!(pg.contains("id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"));
        assert!(pg.contains("data_key_enc  BYTEA NOT NULL"));
        assert!(!pg.contains("INTEGER") && !pg.contains("BLOB"));
        assert_eq!(for_engine(MIGRATIONS[0].sql, Engine::Sqlite), MIGRATIONS[0].sql);
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_database_is_refused() {
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            let e = Db::connect(url).await.expect_err(url).to_string();
            assert!(e.contains("give a file"), "{url}: {e}");
        }
    }
}
