//! Several nodes behind a load balancer: what the balancer and the shared state cost. In one
//! run, on one PostgreSQL database and one S3 bucket, the same work three ways — straight to
//! one node, through haproxy to that one node, through haproxy to two nodes:
//! - ingest of 10 KiB secure messages (create + upload + finalise), 16 clients;
//! - Message Center reads: the read page of a small message (decrypted and sanitised on the
//!   node; its envelope in the database, as a typical message's is) by 16 readers, and a large
//!   attachment (its envelope in the bucket) downloaded by 4 readers, decrypted as it streams.
//!
//! haproxy runs `tests/nodes/haproxy.cfg`, the configuration the multi-node tests run and
//! `docs/operations.md` explains (TLS ended and made again to the nodes); one node is taken out
//! of its rotation through haproxy's runtime API. On a 2-core machine a second node adds no
//! cores: the point is the cost of the extra hop and of a second process, not a speed-up.
//! "Server CPU" counts every node's process and haproxy's.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;

use crate::Res;
use crate::center::{Killed, download, send_prepared, signed_in_reader, smtp_sink};
use crate::platform::{
    Platform, Work, cpu_ms, drive, free_port, platform_key, prepare, prepare_with, serve,
    start_platform_with, tempdir,
};

/// The nodes' shared master key (base64 of 32 bytes), as IT gives it to each node.
const MASTER_KEY: &str = "c2VhbHBvc3QtYmVuY2gtbWFzdGVyLWtleS0zMi1ieXQ=";
/// Where haproxy connects to the nodes from (the nodes trust it: `trusted_proxies`).
const BALANCER_SOURCE: &str = "127.0.0.2";

/// haproxy with the tests' configuration, its folder holding its certificates and socket.
struct Balancer {
    child: Killed,
    dir: std::path::PathBuf,
    base: String,
}

impl Balancer {
    /// One command on haproxy's runtime API.
    fn runtime(&self, command: &str) -> Res<String> {
        let mut s = std::os::unix::net::UnixStream::connect(self.dir.join("admin.sock"))?;
        s.write_all(format!("{command}\n").as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    /// Waits until haproxy's check sees `server` as `status` (`UP`, `MAINT`).
    async fn wait_for(&self, server: &str, status: &str) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stat = self.runtime("show stat")?;
            let up = stat.lines().any(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f.len() > 17 && f[0] == "nodes" && f[1] == server && f[17] == status
            });
            if up {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("haproxy never saw node {server} {status}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// haproxy in front of `nodes` (two addresses), with `cert` and `key` as its public
/// certificate and `cert` as the CA it verifies the nodes against (both nodes serve it).
async fn balancer(
    dir: &Path,
    nodes: [u16; 2],
    cert: &Path,
    key: &Path,
    port: u16,
) -> Res<Balancer> {
    let dir = dir.join("balancer");
    std::fs::create_dir_all(&dir)?;
    let mut public = std::fs::read(cert)?;
    public.extend(std::fs::read(key)?);
    std::fs::write(dir.join("public.pem"), public)?;
    std::fs::copy(cert, dir.join("nodes-ca.pem"))?;
    let config = Path::new("tests/nodes/haproxy.cfg");
    if !config.exists() {
        return Err("tests/nodes/haproxy.cfg not found: run from the repository root".into());
    }
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(config)
        .env("LB_DIR", &dir)
        .env("LB_BIND", format!("127.0.0.1:{port}"))
        .env("LB_SOURCE", BALANCER_SOURCE)
        .env("NODE_A", format!("127.0.0.1:{}", nodes[0]))
        .env("NODE_B", format!("127.0.0.1:{}", nodes[1]))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(std::env::temp_dir().join("sealpost-bench-haproxy.log"))?)
        .spawn()
        .map_err(|e| format!("haproxy (apt install haproxy): {e}"))?;
    let b = Balancer { child: Killed(child), dir, base: format!("https://localhost:{port}") };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.dir.join("admin.sock").exists() {
        if Instant::now() > deadline {
            return Err("haproxy did not start; see sealpost-bench-haproxy.log".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for server in ["a", "b"] {
        b.wait_for(server, "UP").await?;
    }
    Ok(b)
}

/// CPU time so far of all `pids`, ms.
fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter().map(|&p| cpu_ms(p)).sum()
}

/// One row: rate, p50, p99, server CPU per operation.
struct Row {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_ms: f64,
}

/// `n` GETs of `url` by `clients` concurrent readers sharing `reader`'s session.
async fn reads(
    reader: &Client,
    url: &str,
    n: usize,
    clients: usize,
) -> Res<(f64, Duration, Duration)> {
    let queue = Arc::new(std::sync::atomic::AtomicUsize::new(n));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (reader, url, queue) = (reader.clone(), url.to_string(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while queue
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |q| q.checked_sub(1),
                )
                .is_ok()
            {
                let t = Instant::now();
                let r = reader.get(&url).send().await.map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("{url}: HTTP {}", r.status()));
                }
                r.bytes().await.map_err(|e| e.to_string())?;
                times.push(t.elapsed());
            }
            Ok::<_, String>(times)
        }));
    }
    crate::throughput(start, tasks).await
}

/// The benchmark: `postgres` a server URL with a database to use (emptied by the caller), `s3`
/// an S3 endpoint (moto) where a bucket may be made.
pub(crate) async fn run(quick: bool, postgres: &str, s3: &str) -> Res<()> {
    let messages = if quick { 60 } else { 600 };
    let opens = if quick { 60 } else { 600 };
    let size: u64 = if quick { 2 << 20 } else { 16 << 20 };
    let dir = tempdir()?;
    let bucket = format!("sealpost-bench-{}", std::process::id());
    let made = reqwest::Client::new().put(format!("{s3}/{bucket}")).send().await?;
    if !made.status().is_success() {
        return Err(format!("cannot make bucket {bucket} at {s3}: HTTP {}", made.status()).into());
    }
    let mail = dir.join("mail");
    let (_sink, mut env) = smtp_sink(&mail)?;
    let lb_port = free_port()?;
    env.extend([
        ("SEALPOST_MASTER_KEY", MASTER_KEY.to_string()),
        ("SEALPOST_PUBLIC_URL", format!("https://localhost:{lb_port}")),
        ("SEALPOST_TRUSTED_PROXIES", BALANCER_SOURCE.to_string()),
        ("SEALPOST_BLOB_STORE", "s3".to_string()),
        ("SEALPOST_S3_ENDPOINT", s3.to_string()),
        ("SEALPOST_S3_BUCKET", bucket),
        ("SEALPOST_S3_ALLOW_HTTP", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "bench".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_string()),
    ]);
    // Node a makes the tenant, the sender and the certificate; node b serves the same
    // certificate, which the balancer verifies both against.
    let a = start_platform_with(&dir.join("a"), Some(postgres), &env).await?;
    let (cert, key) = (dir.join("a/tls/cert.pem"), dir.join("a/tls/key.pem"));
    let mut env_b = env.clone();
    env_b.push(("SEALPOST_TLS_CERT_FILE", cert.to_string_lossy().into_owned()));
    env_b.push(("SEALPOST_TLS_KEY_FILE", key.to_string_lossy().into_owned()));
    let (b_child, b_port) = serve(&dir.join("b"), Some(postgres), &env_b)?;
    let b_child = Killed(b_child);
    let a_port: u16 = a.base.rsplit(':').next().unwrap_or_default().parse()?;
    let lb = balancer(&dir, [a_port, b_port], &cert, &key, lb_port).await?;

    // Two messages to read — a small one, kept in the database as most are, whose read page
    // is measured; a large one, in the bucket, that is downloaded — and a reader signed in
    // (the session is the database's: it holds on any node and through the balancer).
    let pkey = platform_key(&a).await?;
    let body = |html: &str| sealpost_envelope::Body {
        text: Some("bench".into()),
        html: Some(html.into()),
    };
    let small = prepare_with(&pkey, body("<p>A message to read.</p>"), 2048)?;
    let small = send_prepared(&a, small).await?;
    let large = send_prepared(&a, prepare_with(&pkey, body("<p>Big.</p>"), size as usize)?).await?;
    let reader = signed_in_reader(&a, &small, &mail).await?;

    println!(
        "| path | ingest msgs/s | p50 / p99 ms | server CPU ms/msg | open msgs/s | p50 / p99 ms | server CPU ms/open | download {} MiB × 4, MB/s |",
        size >> 20
    );
    println!("|---|---|---|---|---|---|---|---|");
    let nodes = [a.child.id(), b_child.0.id()];
    let haproxy = lb.child.0.id();
    let paths: [(&str, &str, Vec<u32>, Option<&str>); 3] = [
        ("straight to one node", a.base.as_str(), vec![nodes[0]], None),
        ("haproxy → one node", lb.base.as_str(), vec![nodes[0], haproxy], Some("maint")),
        ("haproxy → two nodes", lb.base.as_str(), vec![nodes[0], nodes[1], haproxy], Some("ready")),
    ];
    for (name, base, pids, b_state) in paths {
        if let Some(state) = b_state {
            lb.runtime(&format!("set server nodes/b state {state}"))?;
            lb.wait_for("b", if state == "maint" { "MAINT" } else { "UP" }).await?;
        }
        let target = Arc::new(Platform {
            child: Command::new("true").spawn()?,
            base: base.to_string(),
            token: a.token.clone(),
            cert: a.cert.clone(),
            client: a.client.clone(),
        });
        let batch = (0..messages)
            .map(|_| prepare(&pkey, 10 * 1024 - 1200).map(Work::Ingest))
            .collect::<Res<Vec<_>>>()?;
        let before = cpu_of(&pids);
        let (rate, p50, p99) = drive(&target, batch, 16).await?;
        let ingest = Row {
            rate,
            p50_ms: p50.as_secs_f64() * 1e3,
            p99_ms: p99.as_secs_f64() * 1e3,
            server_ms: (cpu_of(&pids) - before) / messages as f64,
        };
        let before = cpu_of(&pids);
        let (rate, p50, p99) = reads(&reader, &format!("{base}/c/read/{small}"), opens, 16).await?;
        let open = Row {
            rate,
            p50_ms: p50.as_secs_f64() * 1e3,
            p99_ms: p99.as_secs_f64() * 1e3,
            server_ms: (cpu_of(&pids) - before) / opens as f64,
        };
        let attachment = format!("{base}/c/read/{large}/attachments/1");
        let gbps = download(&reader, &attachment, 4, size).await?;
        println!(
            "| {name} | {:.0} | {:.1} / {:.1} | {:.2} | {:.0} | {:.1} / {:.1} | {:.2} | {:.0} |",
            ingest.rate,
            ingest.p50_ms,
            ingest.p99_ms,
            ingest.server_ms,
            open.rate,
            open.p50_ms,
            open.p99_ms,
            open.server_ms,
            gbps * 1e3
        );
    }
    drop(lb);
    drop(b_child);
    drop(a);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
