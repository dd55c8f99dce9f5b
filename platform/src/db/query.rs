//! Statements written once and run on either engine: SQLite through the `lite` module
//! (no trip to a driver thread per statement), PostgreSQL through sqlx.
//!
//! A statement is its SQL (the shared dialect described in [`db`](super)) and its arguments
//! as [`Arg`]s; rows come back as any type that both drivers can read ([`Row`]: sqlx's
//! `FromRow` and rusqlite's `TryFrom<&Row>`, which tuples of plain types have already).
//! Write transactions are closures over a [`Tx`]. On SQLite the closure's future is ready as
//! soon as it is polled (every `Tx` method there is synchronous inside), so it runs whole on
//! the writer's thread; on PostgreSQL it awaits the server as usual.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::Arguments;
use sqlx::any::{AnyArguments, AnyRow};

use super::{Db, Engine};
use crate::store::StoreError;

/// A value bound to a `$N` placeholder.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// An integer (or NULL).
    Int(Option<i64>),
    /// Text (or NULL).
    Text(Option<&'a str>),
    /// Bytes (or NULL).
    Blob(Option<&'a [u8]>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(Some(v))
    }
}
impl<'a> From<Option<&'a [u8]>> for Arg<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        Arg::Blob(v)
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Int(Some(v)) => ValueRef::Integer(v),
            Arg::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(Some(v)) => ValueRef::Blob(v),
            Arg::Int(None) | Arg::Text(None) | Arg::Blob(None) => ValueRef::Null,
        }))
    }
}

/// `args` as sqlx's arguments, in order.
fn arguments(args: &[Arg<'_>]) -> Result<AnyArguments, sqlx::Error> {
    let mut out = AnyArguments::default();
    for arg in args {
        match *arg {
            Arg::Int(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Blob(v) => out.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

/// Implements `TryFrom<&rusqlite::Row>` for a struct whose query names its columns as its
/// fields: the same by-name reading sqlx's `FromRow` derive does on PostgreSQL, so the two
/// drivers cannot disagree about column order.
macro_rules! lite_row {
    ($row:ident { $($field:ident),+ $(,)? }) => {
        impl TryFrom<&rusqlite::Row<'_>> for $row {
            type Error = rusqlite::Error;

            fn try_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<$row> {
                Ok($row { $($field: r.get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use lite_row;

/// The row a statement that must return one returned (a lookup by a key known to exist,
/// an `INSERT … RETURNING`); its absence is a corrupt store, not a "not found".
pub fn one_row<R>(row: Option<R>) -> Result<R, StoreError> {
    row.ok_or_else(|| StoreError::Corrupt("a statement that returns one row returned none".into()))
}

/// A row type both drivers can read.
pub trait Row:
    for<'r> sqlx::FromRow<'r, AnyRow>
    + for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>
    + Send
    + Unpin
    + 'static
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, AnyRow>
        + for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>
        + Send
        + Unpin
        + 'static
{
}

/// How many rows a query may return.
#[derive(Clone, Copy)]
enum Want {
    First,
    All,
}

/// Binds `args` to a statement's `$N` placeholders by their number, as PostgreSQL does.
/// SQLite numbers a `$N` by where it first appears instead (`$3 … $1` makes `$3` the first),
/// so binding by position would silently swap values in any statement whose placeholders do
/// not first appear in order.
fn bind_numbered(
    statement: &mut rusqlite::CachedStatement<'_>,
    args: &[Arg<'_>],
) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$')?.parse::<usize>().ok())
            .filter(|n| (1..=args.len()).contains(n))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        statement.raw_bind_parameter(index, args[number - 1])?;
    }
    Ok(())
}

fn lite_query<R: Row>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg<'_>],
    want: Want,
) -> rusqlite::Result<Vec<R>> {
    let mut statement = conn.prepare_cached(sql)?;
    bind_numbered(&mut statement, args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(R::try_from(row)?);
        if matches!(want, Want::First) {
            break;
        }
    }
    Ok(out)
}

async fn sqlx_query<'e, R: Row>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    sql: &'static str,
    args: &[Arg<'_>],
    want: Want,
) -> Result<Vec<R>, sqlx::Error> {
    let q = sqlx::query_as_with::<_, R, _>(sql, arguments(args)?);
    Ok(match want {
        Want::First => q.fetch_optional(executor).await?.into_iter().collect(),
        Want::All => q.fetch_all(executor).await?,
    })
}

impl Db {
    async fn read<R: Row>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
        want: Want,
    ) -> Result<Vec<R>, StoreError> {
        match &self.lite {
            Some(lite) => Ok(lite.read(|conn| lite_query(conn, sql, args, want))?),
            None => Ok(sqlx_query(&self.pool, sql, args, want).await?),
        }
    }

    /// The one row `sql` returns (an error if there is none).
    pub async fn fetch_one<R: Row>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<R, StoreError> {
        one_row(self.fetch_optional(sql, args).await?)
    }

    /// The first row `sql` returns, if any.
    pub async fn fetch_optional<R: Row>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        Ok(self.read(sql, args, Want::First).await?.pop())
    }

    /// Every row `sql` returns.
    pub async fn fetch_all<R: Row>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError> {
        self.read(sql, args, Want::All).await
    }

    /// Runs `write` in a write transaction and returns its result once the transaction is
    /// durable; the transaction rolls back if `write` fails. On SQLite the whole transaction
    /// runs in one trip to the writer (see the `lite` module); on PostgreSQL it is
    /// a transaction on sqlx's pool, committed and then made durable.
    pub async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(Tx<'a>) -> BoxFuture<'a, Result<T, StoreError>> + Send + 'static,
    {
        match &self.lite {
            Some(lite) => {
                let (engine, audit_head) = (self.engine, self.audit_head.clone());
                let done = lite
                    .write(move |conn| {
                        let tx = Tx { engine, audit_head: &audit_head, inner: Inner::Lite(conn) };
                        // Every statement on `Inner::Lite` is synchronous: the future is ready.
                        write(tx).now_or_never().unwrap_or_else(|| {
                            Err(StoreError::Corrupt("a SQLite transaction waited".into()))
                        })
                    })
                    .await?;
                self.durable().await?;
                Ok(done)
            }
            None => {
                let mut tx = self.begin_write().await?;
                let inner = Inner::Sqlx(&mut tx);
                let done =
                    write(Tx { engine: self.engine, audit_head: &self.audit_head, inner }).await?;
                self.commit(tx).await?;
                Ok(done)
            }
        }
    }

    /// Runs one writing statement in a transaction of its own and returns how many rows it
    /// changed, once that is durable.
    pub async fn execute(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match &self.lite {
            Some(_) => {
                // The arguments are borrowed; the writer's thread needs them owned.
                let owned: Vec<Owned> = args.iter().map(Owned::from).collect();
                self.write(move |mut tx| {
                    Box::pin(async move {
                        let args: Vec<Arg<'_>> = owned.iter().map(Owned::as_arg).collect();
                        tx.execute(sql, &args).await
                    })
                })
                .await
            }
            None => {
                let q = sqlx::query_with(sql, arguments(args)?);
                let rows = q.execute(&self.pool).await?.rows_affected();
                self.durable().await?;
                Ok(rows)
            }
        }
    }

    /// Runs one writing statement that returns rows (`… RETURNING`) in a transaction of its
    /// own and returns the first row, once that is durable. On PostgreSQL that is the
    /// statement alone, in autocommit: one round trip, not three (`BEGIN`, it, `COMMIT`).
    pub async fn write_returning<R: Row>(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        if self.lite.is_none() {
            let row = sqlx_query(&self.pool, sql, args, Want::First).await?.pop();
            self.durable().await?;
            return Ok(row);
        }
        // The arguments are borrowed; the writer's thread needs them owned.
        let owned: Vec<Owned> = args.iter().map(Owned::from).collect();
        self.write(move |mut tx| {
            Box::pin(async move {
                let args: Vec<Arg<'_>> = owned.iter().map(Owned::as_arg).collect();
                tx.fetch_optional(sql, &args).await
            })
        })
        .await
    }
}

/// An [`Arg`] that owns its value.
#[derive(Debug)]
enum Owned {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl From<&Arg<'_>> for Owned {
    fn from(arg: &Arg<'_>) -> Self {
        match *arg {
            Arg::Int(v) => Owned::Int(v),
            Arg::Text(v) => Owned::Text(v.map(str::to_owned)),
            Arg::Blob(v) => Owned::Blob(v.map(<[u8]>::to_vec)),
        }
    }
}

impl Owned {
    fn as_arg(&self) -> Arg<'_> {
        match self {
            Owned::Int(v) => Arg::Int(*v),
            Owned::Text(v) => Arg::Text(v.as_deref()),
            Owned::Blob(v) => Arg::Blob(v.as_deref()),
        }
    }
}

/// A write transaction in progress (see [`Db::write`]).
pub struct Tx<'a> {
    engine: Engine,
    /// The database's remembered audit head, for `store::audit::append_in`.
    audit_head: &'a ChainHead,
    inner: Inner<'a>,
}

enum Inner<'a> {
    Lite(&'a mut rusqlite::Connection),
    Sqlx(&'a mut sqlx::Transaction<'static, sqlx::Any>),
}

impl<'a> Tx<'a> {
    /// The engine it runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The audit chain's head as this process last saw it.
    pub(crate) fn audit_head(&self) -> &'a ChainHead {
        self.audit_head
    }

    async fn query<R: Row>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
        want: Want,
    ) -> Result<Vec<R>, StoreError> {
        match &mut self.inner {
            Inner::Lite(conn) => Ok(lite_query(conn, sql, args, want)?),
            Inner::Sqlx(tx) => Ok(sqlx_query(&mut ***tx, sql, args, want).await?),
        }
    }

    /// The first row `sql` returns, if any.
    pub async fn fetch_optional<R: Row>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        Ok(self.query(sql, args, Want::First).await?.pop())
    }

    /// Every row `sql` returns.
    pub async fn fetch_all<R: Row>(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError> {
        self.query(sql, args, Want::All).await
    }

    /// Runs `sql` and returns how many rows it changed. `sql` may be built at run time, from
    /// fixed text and placeholders only: every value is an argument.
    pub async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match &mut self.inner {
            Inner::Lite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                bind_numbered(&mut statement, args)?;
                Ok(statement.raw_execute()? as u64)
            }
            Inner::Sqlx(tx) => {
                let q = sqlx::query_with(sqlx::AssertSqlSafe(sql.to_owned()), arguments(args)?);
                Ok(q.execute(&mut ***tx).await?.rows_affected())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display());
        let db = Db::connect(&url).await.expect("connect");
        db.execute("CREATE TABLE t (n INTEGER, s TEXT, b BLOB)", &[]).await.expect("create");
        (dir, db)
    }

    async fn rows(db: &Db) -> Vec<(i64, Option<String>, Option<Vec<u8>>)> {
        db.fetch_all("SELECT n, s, b FROM t ORDER BY n", &[]).await.expect("select")
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_and_values_round_trip() {
        let (_dir, db) = sqlite().await;
        let failed = db
            .write(|mut tx| {
                Box::pin(async move {
                    tx.execute("INSERT INTO t (n) VALUES ($1)", &[1.into()]).await?;
                    Err::<(), _>(StoreError::Corrupt("changed my mind".into()))
                })
            })
            .await;
        assert!(failed.is_err());
        assert!(rows(&db).await.is_empty(), "the failed transaction rolled back");
        let changed = db
            .write(|mut tx| {
                Box::pin(async move {
                    tx.execute(
                        "INSERT INTO t (n, s, b) VALUES ($1, $2, $3), ($4, $5, $6)",
                        &[
                            2.into(),
                            "two".into(),
                            b"\x00\xff"[..].into(),
                            3.into(),
                            None::<&str>.into(),
                            None::<&[u8]>.into(),
                        ],
                    )
                    .await
                })
            })
            .await
            .expect("write");
        assert_eq!(changed, 2);
        assert_eq!(
            rows(&db).await,
            vec![(2, Some("two".into()), Some(vec![0, 255])), (3, None, None)]
        );
        let missing: Result<(i64,), _> =
            db.fetch_one("SELECT n FROM t WHERE n = $1", &[9.into()]).await;
        assert!(missing.is_err(), "fetch_one of no row is an error");
        // Placeholders bind by their number wherever they first appear.
        let sql = "SELECT n FROM t WHERE n = $2 AND $1 = 'x'";
        let found: Option<(i64,)> =
            db.fetch_optional(sql, &["x".into(), 3.into()]).await.expect("q");
        assert_eq!(found, Some((3,)));
        let sql = "UPDATE t SET s = $1 WHERE n = $2";
        let sql_swapped = "UPDATE t SET n = n WHERE n = $2 AND COALESCE(s, '') <> $1";
        assert_eq!(db.execute(sql, &["three".into(), 3.into()]).await.expect("update"), 1);
        assert_eq!(db.execute(sql_swapped, &["three".into(), 3.into()]).await.expect("update"), 0);
    }

    #[tokio::test]
    async fn writers_of_both_drivers_take_turns_and_readers_never_wait() {
        let (_dir, db) = sqlite().await;
        // sqlx's writer holds the lock, as another process's writer (an `admin` command) would:
        // a transaction on the synchronous path waits for it…
        let held = db.begin_write().await.expect("begin");
        let waiting = tokio::spawn({
            let db = db.clone();
            async move { db.execute("INSERT INTO t (n) VALUES ($1)", &[1.into()]).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the second writer should wait for the first");
        // … while reads go on.
        assert!(rows(&db).await.is_empty());
        held.commit().await.expect("commit");
        assert_eq!(waiting.await.expect("join").expect("insert"), 1);
        assert_eq!(rows(&db).await.len(), 1);
    }
}

/// The newest link of the audit log's hash chain this process has written or read,
/// `(seq, hash)`, remembered per database (`store::audit` owns what it means; the database
/// only keeps it, so that the layers stay one way: `store` → `db`): a guess at the chain's
/// head that saves reading it on every append. The append checks the guess in the same
/// statement that inserts, so a stale one (another process appended, or the transaction that
/// wrote it rolled back) costs one more read, never a fork.
///
/// With several nodes on one PostgreSQL database each node's guess goes stale whenever
/// another appends; that is safe because appends are serialised in the database, not here
/// (`store::audit::append_in`: a transaction-scoped advisory lock, and `seq` is the primary
/// key), and the check runs after the lock is held, at `READ COMMITTED`, so it sees the other
/// node's last row. `tests/nodes.rs` appends from two handles at once and verifies the chain.
#[derive(Debug, Default)]
pub struct ChainHead(std::sync::Mutex<Option<(i64, Vec<u8>)>>);

impl ChainHead {
    pub(crate) fn get(&self) -> Option<(i64, Vec<u8>)> {
        self.0.lock().map(|g| g.clone()).unwrap_or(None)
    }

    pub(crate) fn set(&self, head: (i64, Vec<u8>)) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(head);
        }
    }
}
