//! Platform benchmarks, against the real `sealpost-platform` binary in its own process:
//! - ingest of small secure messages (create + upload + finalise of a 10 KiB envelope) at
//!   1, 16 and 64 concurrent clients, beside `openssl speed -multi 2` for the RSA private-key
//!   operation every finalise costs (the bound on this machine), and the floor under ingest:
//!   three HTTPS requests that do nothing else, with what that floor leaves of the bound;
//! - one 1 GiB envelope uploaded with `curl -T`, beside the same `curl -T` to a plain HTTPS
//!   upload sink (`sealpost-bench upload-sink`), with each server's peak RSS while it ran.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use sealpost_envelope::{
    Body, ContentHash, Decryptor, Header, Limits, Manifest, MessageId, Metadata, PrivateKey,
    PublicKey, RsaBits, Sealer, StanzaRole,
};
use serde_json::{Value, json};

use crate::Res;

pub(crate) const PASSWORD: &str = "benchmark-password-1";

/// A platform process on a private data folder, with a signed-in sender.
pub(crate) struct Platform {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) cert: PathBuf,
    pub(crate) client: Client,
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn sibling_binary(name: &str) -> Res<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it with `cargo build --release -p sealpost-platform`",
            path.display()
        )
        .into())
    }
}

pub(crate) fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The environment variables a platform process gets besides the benchmark's own.
pub(crate) type Env<'a> = &'a [(&'a str, String)];

fn platform_cmd(bin: &Path, dir: &Path, db: Option<&str>, env: Env<'_>) -> Command {
    let mut c = Command::new(bin);
    c.arg("--data-dir")
        .arg(dir)
        .env("SEALPOST_LOG", "warn")
        .env("SEALPOST_MAX_SEGMENT_BYTES", (2u64 << 30).to_string())
        .env("SEALPOST_MAX_ENVELOPE_BYTES", (2u64 << 30).to_string())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    if let Some(url) = db {
        c.arg("--database-url").arg(url);
    }
    c
}

fn run_admin(
    bin: &Path,
    dir: &Path,
    db: Option<&str>,
    env: Env<'_>,
    args: &[&str],
    stdin: Option<&str>,
) -> Res<String> {
    let mut child = platform_cmd(bin, dir, db, env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(input) = stdin {
        child.stdin.take().ok_or("stdin")?.write_all(input.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("platform {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) async fn start_platform(dir: &Path, db: Option<&str>) -> Res<Platform> {
    start_platform_with(dir, db, &[]).await
}

/// Like [`start_platform`], with these environment variables for the server.
pub(crate) async fn start_platform_with(
    dir: &Path,
    db: Option<&str>,
    env: Env<'_>,
) -> Res<Platform> {
    let bin = sibling_binary("sealpost-platform")?;
    let admin = |args: &[&str], stdin: Option<&str>| run_admin(&bin, dir, db, env, args, stdin);
    admin(&["admin", "create-tenant", "--name", "bench", "--domain", "bench.example"], None)?;
    admin(
        &["admin", "create-user", "--tenant", "bench", "--email", "sender@bench.example"],
        Some(PASSWORD),
    )?;
    let token = admin(&["admin", "create-token", "--email", "sender@bench.example"], None)?
        .trim()
        .to_string();
    // Room for a 1 GiB attachment's envelope (the default tenant limit is exactly 1 GiB).
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"internal_domains": ["bench.example"], "max_envelope_bytes": 2147483648}"#,
    )?;
    let policy_arg = policy.to_string_lossy().into_owned();
    admin(&["admin", "set-policy", "--tenant", "bench", "--file", &policy_arg], None)?;
    let (child, port) = serve(dir, db, env)?;
    let cert = dir.join("tls/cert.pem");
    let client = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&cert)?)?)
        .pool_max_idle_per_host(128)
        .build()?;
    Ok(Platform { child, base: format!("https://localhost:{port}"), token, cert, client })
}

/// `sealpost-platform serve` on a free port of 127.0.0.1, once it listens: the process and
/// its port. Its log is `sealpost-bench-platform-PORT.log` in the temporary folder.
pub(crate) fn serve(dir: &Path, db: Option<&str>, env: Env<'_>) -> Res<(Child, u16)> {
    let bin = sibling_binary("sealpost-platform")?;
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!("sealpost-bench-platform-{port}.log"));
    let mut child = platform_cmd(&bin, dir, db, env)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
    for line in lines.by_ref() {
        if line?.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, port))
}

/// What one client does per round of [`drive`].
pub(crate) enum Work {
    /// Ingest this message: create, upload, finalise.
    Ingest(Prepared),
    /// Three `GET /healthz` (the device-token check's database read is there too, as a
    /// ping): what three HTTPS requests cost with none of ingest's work, for the floor.
    ThreeBareRequests,
}

/// A sealed message ready to send: its slip and envelope.
pub(crate) struct Prepared {
    pub(crate) slip: Value,
    pub(crate) id: String,
    pub(crate) envelope: Vec<u8>,
}

/// Who the benchmark's messages are from and to.
fn bench_metadata() -> Metadata {
    Metadata {
        from: "sender@bench.example".into(),
        to: vec!["reader@outside.example".into()],
        subject: "Benchmark".into(),
        date: "2026-11-22T10:00:00Z".into(),
        ..Metadata::default()
    }
}

pub(crate) fn prepare(key: &PublicKey, attachment_len: usize) -> Res<Prepared> {
    prepare_with(key, Body { text: Some("benchmark".into()), html: None }, attachment_len)
}

/// A message to the benchmark's reader with `body` and an attachment of `attachment_len`
/// bytes, sealed.
pub(crate) fn prepare_with(key: &PublicKey, body: Body, attachment_len: usize) -> Res<Prepared> {
    let id = MessageId::random()?;
    let attachment = vec![0x42u8; attachment_len];
    let mut manifest = Manifest::new(bench_metadata(), body);
    manifest.attach("a.bin", "application/octet-stream", &attachment);
    let json = manifest.to_json();
    let envelope = Sealer::builder(id)
        .recipient(StanzaRole::Platform, key)
        .parts_for(&manifest, &json)
        .build()?
        .seal_to_vec(&[&json, &attachment])?;
    let slip = json!({"id": id.to_string(), "to": ["reader@outside.example"], "subject": "Benchmark", "envelope_size": envelope.len()});
    Ok(Prepared { slip, id: id.to_string(), envelope })
}

async fn perform(p: &Platform, work: &Work) -> Res<()> {
    let ok = |r: reqwest::Response| -> Res<()> {
        if r.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", r.status()).into()) }
    };
    let m = match work {
        Work::Ingest(m) => m,
        Work::ThreeBareRequests => {
            for _ in 0..3 {
                ok(p.client.get(format!("{}/healthz", p.base)).send().await?)?;
            }
            return Ok(());
        }
    };
    ok(p.client
        .post(format!("{}/api/v1/messages", p.base))
        .bearer_auth(&p.token)
        .json(&m.slip)
        .send()
        .await?)?;
    ok(p.client
        .patch(format!("{}/api/v1/messages/{}/envelope", p.base, m.id))
        .bearer_auth(&p.token)
        .header("Upload-Offset", "0")
        .body(m.envelope.clone())
        .send()
        .await?)?;
    ok(p.client
        .post(format!("{}/api/v1/messages/{}/finalise", p.base, m.id))
        .bearer_auth(&p.token)
        .send()
        .await?)
}

pub(crate) async fn platform_key(p: &Platform) -> Res<PublicKey> {
    let v: Value =
        p.client.get(format!("{}/api/v1/keys/platform", p.base)).send().await?.json().await?;
    Ok(PublicKey::parse(v["public_key_pem"].as_str().ok_or("no key")?.as_bytes())?)
}

/// Performs `rounds` with `clients` concurrent clients; returns (rounds/s, p50, p99 latency).
pub(crate) async fn drive(
    p: &Arc<Platform>,
    rounds: Vec<Work>,
    clients: usize,
) -> Res<(f64, Duration, Duration)> {
    let queue = Arc::new(tokio::sync::Mutex::new(rounds));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (p, queue) = (p.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(m) = queue.lock().await.pop() else { break };
                let t = Instant::now();
                perform(&p, &m).await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    crate::throughput(start, tasks).await
}

/// One row of the ingest table.
struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The server's CPU time per round, ms.
    server_ms: f64,
    /// The load generator's (this process's) CPU time per round, ms.
    load_ms: f64,
}

async fn measure(p: &Arc<Platform>, rounds: Vec<Work>, clients: usize) -> Res<Measured> {
    let n = rounds.len() as f64;
    let (server_before, load_before) = (cpu_ms(p.child.id()), cpu_ms(std::process::id()));
    let (rate, p50, p99) = drive(p, rounds, clients).await?;
    Ok(Measured {
        rate,
        p50_ms: p50.as_secs_f64() * 1e3,
        p99_ms: p99.as_secs_f64() * 1e3,
        server_ms: (cpu_ms(p.child.id()) - server_before) / n,
        load_ms: (cpu_ms(std::process::id()) - load_before) / n,
    })
}

fn rounds_of_bare_requests(n: usize) -> Vec<Work> {
    (0..n).map(|_| Work::ThreeBareRequests).collect()
}

/// The floor under ingest on this machine: one unwrap plus three HTTPS requests that do
/// nothing else, and the most messages per second that leaves two always-busy cores.
fn print_floor(f: &Measured, rsa_ms: f64, bound: f64) {
    println!(
        "| three HTTPS requests alone (3 × GET /healthz), 16 clients | {:.0} | {:.1} | {:.1} | {:.2} | | {:.2} | | |",
        f.rate, f.p50_ms, f.p99_ms, f.server_ms, f.load_ms
    );
    let floor_ms = rsa_ms + f.server_ms + f.load_ms;
    let ceiling = 2000.0 / floor_ms;
    println!();
    println!(
        "Floor per ingested message: one unwrap {rsa_ms:.2} ms + three bare requests {:.2} ms \
         (server {:.2}, load generator {:.2}) = {floor_ms:.2} ms of a core. With both cores \
         always busy and nothing else to do, ingest could reach at most {ceiling:.0} msg/s = \
         {:.2} × the bound.",
        f.server_ms + f.load_ms,
        f.server_ms,
        f.load_ms,
        ceiling / bound
    );
}

/// `openssl speed -multi 2 rsaNNNN`: private-key operations per second.
fn openssl_rsa_private_ops(bits: u32, seconds: u32) -> Res<f64> {
    let o = Command::new("openssl")
        .args(["speed", "-multi", "2", "-seconds", &seconds.to_string(), &format!("rsa{bits}")])
        .output()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("rsa {bits} bits")))
        .ok_or_else(|| format!("unexpected openssl speed output: {text}"))?;
    // "rsa 3072 bits 0.001751s 0.000037s    571.1  27297.5": sign/s is the third figure.
    let figures: Vec<&str> = line.split_whitespace().skip(3).collect();
    Ok(figures.get(2).ok_or("no sign/s figure")?.parse()?)
}

/// The platform's own private-key operation — unwrapping an envelope's file key (RSA-OAEP,
/// aws-lc-rs, as finalise does) — per second on two threads, for comparison with
/// `openssl speed`'s figure for the same key size.
fn platform_rsa_unwraps(seconds: f64) -> Res<f64> {
    let key = PrivateKey::generate(RsaBits::Rsa3072)?;
    let sealed = prepare(key.public_key(), 100)?;
    let header = Header::read_from(&mut &sealed.envelope[..], &Limits::default())?;
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let ops = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        Decryptor::new(header.clone(), &key).map(|_| n += 1)?;
                    }
                    Ok::<_, sealpost_envelope::Error>(n)
                })
            })
            .collect();
        let mut total = 0u64;
        for w in workers {
            total += w.join().map_err(|_| "an unwrap thread panicked")??;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(total)
    })?;
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

/// Peak RSS (KiB) of a process while `work` runs, sampled every 20 ms.
async fn peak_rss_during<F: std::future::Future<Output = Res<()>>>(pid: u32, work: F) -> Res<u64> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let rss = s
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
                    peak = peak.max(rss.unwrap_or(0));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let result = work.await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await?;
    result.map(|()| peak)
}

/// CPU time (user + system) a process has used so far, in ms.
pub(crate) fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name sits in parentheses and may hold spaces: count fields after it.
    // There, utime and stime (fields 14 and 15 of the line) are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 * 10.0 // USER_HZ is 100 on Linux
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Times one `curl -T` upload. Dirty pages from anything before are written back first, so
/// neither side of a comparison pays for the other's writeback.
pub(crate) fn curl_upload(
    url: &str,
    file: &Path,
    cert: &Path,
    method: &str,
    headers: &[String],
) -> Res<Duration> {
    Command::new("sync").status()?;
    let mut c = Command::new("curl");
    c.args(["-sS", "--fail", "-o", "/dev/null", "-X", method, "--cacert"])
        .arg(cert)
        .arg("-T")
        .arg(file);
    for h in headers {
        c.args(["-H", h]);
    }
    let t = Instant::now();
    let o = c.arg(url).output()?;
    if !o.status.success() {
        return Err(format!("curl {url}: {}", String::from_utf8_lossy(&o.stderr)).into());
    }
    Ok(t.elapsed())
}

/// Creates the slip for a sealed envelope file and uploads it with one `curl -T`; returns the
/// upload's time.
pub(crate) async fn curl_sealed_upload(
    p: &Platform,
    id: &str,
    envelope_len: u64,
    file: &Path,
) -> Res<Duration> {
    let slip = json!({"id": id, "to": ["reader@outside.example"], "subject": "Benchmark", "envelope_size": envelope_len});
    let r = p
        .client
        .post(format!("{}/api/v1/messages", p.base))
        .bearer_auth(&p.token)
        .json(&slip)
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(format!("create: HTTP {}", r.status()).into());
    }
    let url = format!("{}/api/v1/messages/{id}/envelope", p.base);
    let headers = [format!("Authorization: Bearer {}", p.token), "Upload-Offset: 0".to_string()];
    curl_upload(&url, file, &p.cert, "PATCH", &headers)
}

/// Narrows the platform benchmark to one ingest row, for profiling.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Profile {
    /// Only this many concurrent clients (and no upload rows).
    pub clients: Option<usize>,
    /// Messages per row instead of the default.
    pub messages: Option<usize>,
}

/// The benchmark; `postgres` names a PostgreSQL server for a second run beside SQLite.
pub(crate) async fn run(quick: bool, postgres: Option<String>, profile: Profile) -> Res<()> {
    let bits = 3072;
    let bound = openssl_rsa_private_ops(bits, if quick { 1 } else { 3 })?;
    let own = platform_rsa_unwraps(if quick { 1.0 } else { 3.0 })?;
    println!(
        "RSA-{bits} private-key operations per second on 2 threads: openssl speed {bound:.0}, \
         the platform's unwrap (aws-lc-rs OAEP) {own:.0}"
    );
    println!();
    println!(
        "| measurement | msgs/s | p50 ms | p99 ms | server CPU ms/msg | of which beyond the RSA unwrap | load generator CPU ms/msg | bound: openssl speed -multi 2 rsa{bits} sign/s | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // One unwrap's CPU time, as measured above: two cores' worth of milliseconds per op.
    let rsa_ms = 2000.0 / own;
    let per_run = profile.messages.unwrap_or(if quick { 60 } else { 600 });
    let rows = profile.clients.map_or(vec![1, 16, 64], |c| vec![c]);
    let mut floor = None;
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = postgres {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (name, db) in backends {
        let dir = tempdir()?;
        let p = Arc::new(start_platform(&dir, db.as_deref()).await?);
        let key = platform_key(&p).await?;
        if profile.clients.is_some() {
            eprintln!("server pid {}", p.child.id());
        }
        for &clients in &rows {
            let batch = (0..per_run)
                .map(|_| prepare(&key, 10 * 1024 - 1200).map(Work::Ingest))
                .collect::<Res<Vec<_>>>()?;
            let m = measure(&p, batch, clients).await?;
            println!(
                "| ingest 10 KiB messages, {name}, {clients} client(s) | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {bound:.0} | {:.2} |",
                m.rate,
                m.p50_ms,
                m.p99_ms,
                m.server_ms,
                m.server_ms - rsa_ms,
                m.load_ms,
                m.rate / bound
            );
        }
        if floor.is_none() {
            floor = Some(measure(&p, rounds_of_bare_requests(per_run * 4), 16).await?);
        }
        drop(p);
        std::fs::remove_dir_all(&dir)?;
    }
    if let Some(f) = floor {
        print_floor(&f, rsa_ms, bound);
    }
    if profile.clients.is_some() {
        return Ok(());
    }

    // One large envelope: the platform against a plain upload sink, both over HTTPS, both fed
    // by the same curl, each fsyncing what it wrote.
    let size: u64 = if quick { 64 << 20 } else { 1 << 30 };
    let dir = tempdir()?;
    let p = start_platform(&dir, None).await?;
    let key = platform_key(&p).await?;
    let file = dir.join("big.sealpost");
    let (id, envelope_len) = seal_file(&key, size, &file)?;
    let pid = p.child.id();
    let idle = rss_kib(pid);
    let mut platform_t = Duration::ZERO;
    let platform_peak = peak_rss_during(pid, async {
        platform_t = curl_sealed_upload(&p, &id, envelope_len, &file).await?;
        Ok(())
    })
    .await?;

    let sink_dir = dir.join("sink");
    std::fs::create_dir_all(&sink_dir)?;
    let port = free_port()?;
    let mut sink = Command::new(std::env::current_exe()?)
        .args(["upload-sink", &port.to_string()])
        .arg(&p.cert)
        .arg(dir.join("tls/key.pem"))
        .arg(&sink_dir)
        .stdout(Stdio::piped())
        .spawn()?;
    BufReader::new(sink.stdout.take().ok_or("stdout")?).lines().next();
    let sink_idle = rss_kib(sink.id());
    let mut sink_t = Duration::ZERO;
    let sink_peak = peak_rss_during(sink.id(), async {
        sink_t =
            curl_upload(&format!("https://localhost:{port}/upload"), &file, &p.cert, "PUT", &[])?;
        Ok(())
    })
    .await?;
    let _ = sink.kill();
    let _ = sink.wait();

    let gbps = |d: Duration| envelope_len as f64 / d.as_secs_f64() / 1e9;
    println!();
    println!("| measurement | sealpost | baseline | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| upload a {} MiB envelope with curl -T (GB/s) | {:.2} | plain HTTPS upload sink: {:.2} | {:.2} |",
        size >> 20,
        gbps(platform_t),
        gbps(sink_t),
        sink_t.as_secs_f64() / platform_t.as_secs_f64()
    );
    println!(
        "| server RSS during that upload, idle → peak (MiB) | {:.1} → {:.1} | sink: {:.1} → {:.1} | |",
        idle as f64 / 1024.0,
        platform_peak as f64 / 1024.0,
        sink_idle as f64 / 1024.0,
        sink_peak as f64 / 1024.0
    );
    drop(p);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

pub(crate) fn tempdir() -> Res<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "sealpost-bench-{}-{}",
        std::process::id(),
        MessageId::random()?
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Seals an attachment of `size` bytes into `path`, streaming; returns (id, envelope length).
pub(crate) fn seal_file(key: &PublicKey, size: u64, path: &Path) -> Res<(String, u64)> {
    let id = MessageId::random()?;
    let block = vec![0x17u8; 1 << 20];
    let mut hash = ContentHash::new();
    for _ in 0..size >> 20 {
        hash.update(&block);
    }
    let mut manifest =
        Manifest::new(bench_metadata(), Body { text: Some("large".into()), html: None });
    manifest.attach_hashed("big.bin", "application/octet-stream", size, hash.finish_hex());
    let json = manifest.to_json();
    let sealer = Sealer::builder(id)
        .recipient(StanzaRole::Platform, key)
        .parts_for(&manifest, &json)
        .build()?;
    let total = sealer.header().layout().total_len();
    let mut w = sealer.into_writer(std::fs::File::create(path)?);
    w.write_all(&json)?;
    for _ in 0..size >> 20 {
        w.write_all(&block)?;
    }
    w.finish()?;
    Ok((id.to_string(), total))
}

/// `sealpost-bench upload-sink PORT CERT KEY DIR`: an HTTPS server that writes each PUT body
/// to a file and fsyncs it — the least an upload endpoint can do, for the baseline.
pub(crate) async fn upload_sink(port: u16, cert: &Path, key: &Path, dir: PathBuf) -> Res<()> {
    use axum::body::Body as AxumBody;
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let dir = Arc::new(dir);
    let app = axum::Router::new()
        .route(
            "/upload",
            axum::routing::put(move |body: AxumBody| {
                let dir = dir.clone();
                async move {
                    let mut f = tokio::fs::File::create(dir.join("upload.bin"))
                        .await
                        .map_err(|e| e.to_string())?;
                    let mut stream = body.into_data_stream();
                    while let Some(piece) = stream.next().await {
                        f.write_all(&piece.map_err(|e| e.to_string())?)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    f.sync_all().await.map_err(|e| e.to_string())?;
                    Ok::<_, String>("stored")
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    serve_https(port, cert, key, app).await
}

/// Serves `app` over HTTPS on 127.0.0.1:`port` with this certificate, printing "ready" once
/// it listens — the baselines' server.
pub(crate) async fn serve_https(port: u16, cert: &Path, key: &Path, app: axum::Router) -> Res<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    let server = axum_server::bind(addr).acceptor(acceptor);
    println!("ready");
    std::io::stdout().flush()?;
    server.serve(app.into_make_service()).await?;
    Ok(())
}
