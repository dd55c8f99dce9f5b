//! Several platform nodes on one database, as behind a load balancer: each node a real
//! `sealpost-platform` process with a data folder of its own and the same master key
//! (`SEALPOST_MASTER_KEY`), sharing the test's database (SQLite, or a fresh PostgreSQL
//! database with `SEALPOST_TEST_DATABASE_URL`; `scripts/test` runs both).
//!
//! What an operator checks: nodes started together migrate once and agree on one admin and
//! one platform key; a node older than the schema refuses to start and says why; sign-in
//! guesses spread over nodes are limited as on one; the audit chain stays one chain when
//! nodes append at once; a rotated platform key reaches every running node; a node the
//! database shuts out is not ready until it is let in again (PostgreSQL); and a node told to
//! stop (SIGTERM) turns unready at once, finishes what it has in flight, and exits cleanly.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use sealpost_platform::db::Db;
use sealpost_platform::store::audit::{self, Verdict};
use serde_json::{Value, json};
use support::{Server, free_port, test_database, wait_for};

/// The nodes' shared master key (base64 of 32 bytes), as IT gives it to each node.
const MASTER_KEY: &str = "c2VhbHBvc3QtdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU=";

/// A node: its own data folder under `root`, the shared database and master key.
fn node(root: &Path, name: &str, database: &str, env: &[(&str, &str)]) -> Server {
    let data = root.join(name);
    let mut env = env.to_vec();
    env.push(("SEALPOST_MASTER_KEY", MASTER_KEY));
    Server::start_with(free_port(), &data, database, None, &env)
}

fn base(server: &Server) -> String {
    format!("https://localhost:{}", server.port)
}

/// A client of `server`, trusting the certificate in its data folder.
fn client_of(root: &Path, name: &str) -> reqwest::Client {
    support::client(&root.join(name), false)
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_started_together_migrate_once_and_share_one_admin_and_platform_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().to_path_buf();
    let database = test_database(&root.join("shared")).await;
    let names: [&'static str; 3] = ["a", "b", "c"];
    let starting: Vec<_> = names
        .into_iter()
        .map(|name| {
            let (root, database) = (root.clone(), database.clone());
            std::thread::spawn(move || node(&root, name, &database, &[]))
        })
        .collect();
    let nodes: Vec<Server> = starting.into_iter().map(|t| t.join().expect("start")).collect();
    for (node, name) in nodes.iter().zip(names) {
        assert!(node.listening, "node {name} started (none may fail on another's first start)");
    }

    let passwords: Vec<&String> =
        nodes.iter().filter_map(|n| n.bootstrap_password.as_ref()).collect();
    assert_eq!(passwords.len(), 1, "exactly one node made the first admin");
    let password = passwords[0].clone();
    let mut key_ids = Vec::new();
    for (node, name) in nodes.iter().zip(names) {
        let http = client_of(&root, name);
        let ready = http.get(format!("{}/readyz", base(node))).send().await.expect("readyz");
        assert_eq!(ready.status(), StatusCode::OK, "node {name} is up and ready");
        key_ids.push(support::platform_key(&http, &base(node)).await.key_id());
        // The one admin signs in on every node.
        support::sign_in(&http, &base(node), "admin@sealpost.localhost", &password).await;
    }
    assert!(key_ids.windows(2).all(|w| w[0] == w[1]), "every node serves the same platform key");

    let db = Db::connect(&database).await.expect("connect");
    let versions: Vec<(i64,)> = db
        .fetch_all("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .expect("q");
    let expected: Vec<(i64,)> = (1..=Db::newest_known_schema()).map(|v| (v,)).collect();
    assert_eq!(versions, expected, "each migration applied once");
    let (tenants,): (i64,) = db.fetch_one("SELECT COUNT(*) FROM tenants", &[]).await.expect("q");
    assert_eq!(tenants, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_older_than_the_schema_refuses_to_start_and_names_both_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let database = test_database(&dir.path().join("shared")).await;
    let known = Db::newest_known_schema();
    // A newer release migrated the database one step further.
    let db = Db::connect(&database).await.expect("connect");
    db.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[(known + 1).into()])
        .await
        .expect("a newer migration");

    let mut old = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost-platform"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("old"))
        .args(["--database-url", &database])
        .env("SEALPOST_MASTER_KEY", MASTER_KEY)
        .env("SEALPOST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let status = wait_for("the old node to give up", Duration::from_secs(30), || {
        old.try_wait().expect("wait")
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut old.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    assert!(!status.success(), "it must not serve: {stderr}");
    assert!(
        stderr.contains(&format!("version {}", known + 1))
            && stderr.contains(&format!("version {known}")),
        "the message names the schema's version and the binary's: {stderr}"
    );
    assert!(stderr.contains("newer release"), "and says what to do: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_guesses_spread_over_nodes_are_limited_as_on_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().to_path_buf();
    let database = test_database(&root.join("shared")).await;
    let limit = [("SEALPOST_SIGN_IN_ATTEMPTS_PER_MINUTE", "4")];
    let first = node(&root, "a", &database, &limit);
    let second = node(&root, "b", &database, &limit);
    let nodes = [(&first, client_of(&root, "a")), (&second, client_of(&root, "b"))];
    let guess = |n: usize, i: usize| {
        let (node, http) = &nodes[n];
        // Another account each time: the per-account lockout never triggers.
        let body = json!({"email": format!("guess{i}@sealpost.localhost"), "password": "wrong"});
        http.post(format!("{}/api/v1/auth/sign-in", base(node))).json(&body).send()
    };
    // Four guesses, alternating between the nodes: each node saw two.
    for i in 0..4 {
        let r = guess(i % 2, i).await.expect("sign-in");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {i} is judged");
    }
    // The fifth is refused whichever node it reaches.
    for n in [0, 1] {
        let r = guess(n, 10 + n).await.expect("sign-in");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "node {n}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "rate_limited");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_appending_to_the_audit_log_at_once_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    let database = test_database(&dir.path().join("shared")).await;
    // Two handles on the database, each with its own connections and its own remembered
    // chain head, as two nodes have; eight writers on each.
    let nodes = [
        Db::connect(&database).await.expect("node a"),
        Db::connect(&database).await.expect("node b"),
    ];
    let mut writers = Vec::new();
    for (n, db) in nodes.iter().enumerate() {
        for w in 0..8 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..25 {
                    let detail = format!("{{\"node\":{n},\"writer\":{w},\"i\":{i}}}");
                    audit::append(&db, None, "system", "test.appended", &detail)
                        .await
                        .unwrap_or_else(|e| panic!("append: {e}"));
                }
            }));
        }
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    for db in &nodes {
        assert_eq!(audit::verify(db).await.expect("verify"), Verdict::Intact { entries: 400 });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_told_to_stop_turns_unready_finishes_the_upload_in_flight_and_exits() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().to_path_buf();
    let database = test_database(&root.join("shared")).await;
    let drain = [("SEALPOST_DRAIN_SECS", "4"), ("SEALPOST_SHUTDOWN_GRACE_SECS", "30")];
    let mut server = node(&root, "a", &database, &drain);
    let (http, base) = (client_of(&root, "a"), base(&server));
    let password = server.bootstrap_password.clone().expect("first start");
    let token = support::sign_in(&http, &base, "admin@sealpost.localhost", &password).await;
    let key = support::platform_key(&http, &base).await;
    let attachment: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
    let support::TestMessage { id, envelope, .. } =
        support::created_message(&http, &base, &token, &key, &attachment).await;
    let ready = || async { http.get(format!("{base}/readyz")).send().await };
    assert_eq!(ready().await.expect("readyz").status(), StatusCode::OK);

    // An upload is under way when the node is told to stop.
    let (feed, body) = support::fed_body();
    let upload = tokio::spawn(
        http.patch(format!("{base}/api/v1/messages/{id}/envelope"))
            .bearer_auth(&token)
            .header("Upload-Offset", "0")
            .body(body)
            .send(),
    );
    let half = envelope.len() / 2;
    feed.send(bytes::Bytes::copy_from_slice(&envelope[..half])).await.expect("feed");
    server.terminate();

    // At once, the balancer's check says: send new requests elsewhere. The node still
    // answers (it is draining), and is still healthy.
    let status = wait_for("/readyz to say shutting down", Duration::from_secs(4), || {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let r = ready().await.ok()?;
                (r.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(r)
            })
        })
    });
    let v: Value = status.json().await.expect("json");
    assert_eq!(v["status"], "shutting down");
    let health = http.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK, "draining is not broken");

    // After the drain it takes no new connections, while the upload in flight goes on.
    wait_for("new connections to be refused", Duration::from_secs(15), || {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let fresh = client_of(&root, "a");
                fresh.get(format!("{base}/healthz")).send().await.is_err().then_some(())
            })
        })
    });
    assert!(server.exited_within(Duration::from_millis(200)).is_none(), "it waits for the upload");
    feed.send(bytes::Bytes::copy_from_slice(&envelope[half..])).await.expect("feed");
    drop(feed);
    let r = upload.await.expect("join").expect("the upload in flight is answered");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["received"], envelope.len(), "all of it stored");
    let status = server.exited_within(Duration::from_secs(30)).expect("it exits once done");
    assert!(status.success(), "a clean exit: {status:?}");

    // Every acknowledged byte is there when it starts again (on its own data folder: with the
    // local envelope store, the segments are there; nodes that share uploads use S3).
    let again = node(&root, "a", &database, &[]);
    let (http, base) = (client_of(&root, "a"), format!("https://localhost:{}", again.port));
    let token = support::sign_in(&http, &base, "admin@sealpost.localhost", &password).await;
    let r = http
        .post(format!("{base}/api/v1/messages/{id}/finalise"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("finalise");
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_platform_key_rotated_by_an_admin_is_handed_out_by_every_running_node() {
    use sealpost_platform::store::platform_keys;
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().to_path_buf();
    let database = test_database(&root.join("shared")).await;
    let nodes = [node(&root, "a", &database, &[]), node(&root, "b", &database, &[])];
    let clients = [client_of(&root, "a"), client_of(&root, "b")];
    let before = support::platform_key(&clients[0], &base(&nodes[0])).await.key_id();

    // An admin rotates it (`admin rotate-platform-key` does this, with the nodes' master key).
    let (master, _) =
        sealpost_platform::secrets::load_master_key(Some(MASTER_KEY.into()), &root.join("none"))
            .expect("master key");
    let db = Db::connect(&database).await.expect("connect");
    let rotated = platform_keys::rotate(&db, &master, 3072).await.expect("rotate");
    assert_ne!(rotated, before);

    for (node, http) in nodes.iter().zip(&clients) {
        wait_for("the node to hand out the new key", Duration::from_secs(30), || {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let served = support::platform_key(http, &base(node)).await.key_id();
                    (served == rotated).then_some(())
                })
            })
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_cannot_reach_its_database_is_not_ready_until_it_can_again() {
    // PostgreSQL only: a server can shut a node out; a SQLite file cannot be taken away from
    // its process this way (its failures — a full disk — are in tests/api/storage.rs).
    let Ok(server) = std::env::var("SEALPOST_TEST_DATABASE_URL") else { return };
    use sqlx::Executor;
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().to_path_buf();
    let database = test_database(&root.join("shared")).await;
    let name = database.rsplit('/').next().expect("a database name").to_string();
    let node = node(&root, "a", &database, &[]);
    let (http, base) = (client_of(&root, "a"), base(&node));
    let ready = |want: StatusCode| {
        let (http, base) = (&http, &base);
        wait_for(&format!("/readyz to answer {want}"), Duration::from_secs(60), move || {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let r = http.get(format!("{base}/readyz")).send().await.ok()?;
                    (r.status() == want).then_some(())?;
                    r.json::<Value>().await.ok()
                })
            })
        })
    };
    ready(StatusCode::OK);

    // The database shuts the node out: no new connections, its open ones ended.
    let admin = sqlx::AnyPool::connect(&server).await.expect("connect to PostgreSQL");
    let shut_out = [
        format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
        format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}'"
        ),
    ];
    for sql in shut_out {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.expect("shut the node out");
    }
    let v = ready(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["status"], "database unavailable");

    // Back: ready again, without a restart.
    let sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true");
    admin.execute(sqlx::AssertSqlSafe(sql)).await.expect("let it in");
    assert_eq!(ready(StatusCode::OK)["status"], "ok");
}
