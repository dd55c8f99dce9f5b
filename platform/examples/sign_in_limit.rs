//! What the per-address sign-in limit (`ratelimit`) costs per attempt, now that it is counted
//! in the database, beside the cheapest thing a request can ask the same database in the same
//! run: one row read by its primary key. Prints a table for `docs/PERFORMANCE.md`; asserts
//! nothing.
//!
//! ```text
//! cargo run --release -p sealpost-platform --example sign_in_limit            # SQLite
//! cargo run --release -p sealpost-platform --example sign_in_limit -- --postgres URL
//! ```
//!
//! (URL names a server and a database to connect to first; a database of its own is created
//! for the run and dropped after.)

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use sealpost_platform::db::{Db, now_ms};
use sealpost_platform::ratelimit::sign_in_attempt;

/// Attempts per row of the table.
const ATTEMPTS: usize = 4000;
/// Clients at once in the concurrent rows.
const CLIENTS: usize = 16;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let postgres = args.iter().position(|a| a == "--postgres").and_then(|i| args.get(i + 1));
    let dir = tempfile::tempdir()?;
    let (url, engine, dropper) = match postgres {
        Some(server) => {
            use sqlx::Executor;
            sqlx::any::install_default_drivers();
            let name = format!("sealpost_bench_{}", &sealpost_platform::secrets::random_id()[..12]);
            let admin = sqlx::AnyPool::connect(server).await?;
            admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
            let (base, _) = server.rsplit_once('/').ok_or("the URL names no database")?;
            (format!("{base}/{name}"), "PostgreSQL", Some((admin, name)))
        }
        None => {
            let file = dir.path().join("bench.db");
            (format!("sqlite://{}?mode=rwc", file.display()), "SQLite", None)
        }
    };
    let db = Db::connect(&url).await?;
    const PER_MINUTE: u32 = 20;

    println!(
        "| {engine}: per attempt | µs p50 / p99 (one client) | attempts/s ({CLIENTS} clients) |"
    );
    println!("|---|---|---|");
    // The baseline: one row by primary key, the cheapest question a request can ask.
    let read = |db: Db, i: usize| async move {
        let sql = "SELECT attempts FROM sign_in_attempts WHERE address = $1";
        let _: Option<(i64,)> =
            db.fetch_optional(sql, &[address(i).to_string().as_str().into()]).await?;
        Ok(())
    };
    // A new address each time: the insert.
    let first = |db: Db, i: usize| async move {
        sign_in_attempt(&db, address(i), PER_MINUTE).await.map(drop)
    };
    // One address again and again (refused after the first 20): the update of one hot row.
    let hot = |db: Db, _| async move {
        sign_in_attempt(&db, address(usize::MAX), PER_MINUTE).await.map(drop)
    };
    row("baseline: read one row by primary key", &db, read).await?;
    row("limit: first attempt from an address (insert)", &db, first).await?;
    row("limit: one address hammering (update of one row)", &db, hot).await?;
    println!(
        "\n(for scale: one password check, Argon2id as the platform sets it, what every \
         sign-in the limit lets through costs: {:.1} ms)",
        password_check().as_secs_f64() * 1e3
    );
    let forgotten = sealpost_platform::ratelimit::forget_ended(&db, now_ms() + 61_000).await?;
    println!("\n(the sweep then forgot {forgotten} windows in one statement)");

    if let Some((admin, name)) = dropper {
        use sqlx::Executor;
        db.pool.close().await;
        admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).await?;
    }
    Ok(())
}

/// The median of a few password checks (`store::accounts` uses `Argon2::default()`).
fn password_check() -> Duration {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    let salt = SaltString::from_b64("c2VhbHBvc3RiZW5jaA").expect("salt");
    let argon = argon2::Argon2::default();
    let hash = argon.hash_password(b"correct horse battery staple", &salt).expect("hash");
    let hash = PasswordHash::new(&hash.to_string()).expect("phc").serialize();
    let mut took: Vec<Duration> = (0..9)
        .map(|_| {
            let start = Instant::now();
            let parsed = PasswordHash::new(hash.as_str()).expect("phc");
            let _ = argon.verify_password(b"a wrong guess", &parsed);
            start.elapsed()
        })
        .collect();
    took.sort();
    took[took.len() / 2]
}

/// A distinct address per `i` (`usize::MAX`: one fixed address).
fn address(i: usize) -> IpAddr {
    let n = u32::try_from(i).unwrap_or(u32::MAX);
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)))
}

/// Runs `op` [`ATTEMPTS`] times from one client (latencies), then from [`CLIENTS`] at once
/// (throughput), on fresh indexes, and prints a row.
async fn row<F, Fut>(what: &str, db: &Db, op: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: Fn(Db, usize) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<(), sealpost_platform::store::StoreError>> + Send,
{
    let mut took = Vec::with_capacity(ATTEMPTS);
    for i in 0..ATTEMPTS {
        let start = Instant::now();
        op(db.clone(), i).await?;
        took.push(start.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let start = Instant::now();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let db = db.clone();
        clients.push(tokio::spawn(async move {
            for i in (c..ATTEMPTS).step_by(CLIENTS) {
                op(db.clone(), ATTEMPTS + i).await?;
            }
            Ok::<_, sealpost_platform::store::StoreError>(())
        }));
    }
    for client in clients {
        client.await??;
    }
    let per_second = ATTEMPTS as f64 / start.elapsed().as_secs_f64();
    println!("| {what} | {:.0} / {:.0} | {per_second:.0} |", micros(at(0.5)), micros(at(0.99)));
    Ok(())
}
