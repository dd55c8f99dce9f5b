//! `sealpost-bench`: measures Sealpost side by side with a baseline in the same run and prints
//! a table of ratios. Benchmarks, not tests: nothing here asserts a timing.
//!
//! ```text
//! cargo run --release -p sealpost-bench -- envelope        # the table
//! cargo run --release -p sealpost-bench -- envelope --quick  # smaller sizes, for a smoke run
//! cargo build --release -p sealpost-platform && \
//!   cargo run --release -p sealpost-bench -- platform [--quick] [--postgres URL]
//! # (URL: an empty database each run: the platform refuses one holding another master key's data)
//! # one ingest row only, long enough to attach a profiler to the pid it prints:
//! cargo run --release -p sealpost-bench -- platform --clients 16 --messages 5000
//! cargo run --release -p sealpost-bench -- center [--quick]   # from the repository root
//! # several nodes behind haproxy, from the repository root (an empty database, an S3 server):
//! cargo run --release -p sealpost-bench -- nodes [--quick] --postgres URL --s3 URL
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sealpost_envelope::{
    Backend, Body, ContentHash, Decryptor, Header, Limits, Manifest, MessageId, Metadata,
    PrivateKey, PublicKey, RsaBits, Sealer, StanzaRole,
};

const MIB: usize = 1024 * 1024;

mod center;
mod helper;
mod nodes;
mod platform;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let result = match args.first().map(String::as_str) {
        Some("envelope") => envelope(quick),
        Some("platform") => {
            let postgres =
                args.iter().position(|a| a == "--postgres").and_then(|i| args.get(i + 1)).cloned();
            let flag = |name: &str| {
                args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok())
            };
            let profile = platform::Profile { clients: flag("--clients"), messages: flag("--messages") };
            tokio_main(platform::run(quick, postgres, profile))
        }
        Some("helper") => tokio_main(helper::run(quick)),
        Some("nodes") => {
            let value = |name: &str| {
                args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
            };
            match (value("--postgres"), value("--s3")) {
                (Some(pg), Some(s3)) => tokio_main(async move { nodes::run(quick, &pg, &s3).await }),
                _ => Err("nodes needs --postgres URL and --s3 URL".into()),
            }
        }
        Some("center") => tokio_main(async move {
            center::run(quick).await?;
            center::run_hostile(quick).await
        }),
        Some("static-server") if args.len() == 5 => tokio_main(center::static_server(
            args[1].parse().unwrap_or(0),
            Path::new(&args[2]),
            Path::new(&args[3]),
            Path::new(&args[4]),
        )),
        Some("upload-sink") if args.len() == 5 => tokio_main(platform::upload_sink(
            args[1].parse().unwrap_or(0),
            Path::new(&args[2]),
            Path::new(&args[3]),
            PathBuf::from(&args[4]),
        )),
        Some("seal-file") if args.len() == 4 => {
            seal_file(Path::new(&args[1]), Path::new(&args[2]), Path::new(&args[3]))
        }
        _ => {
            Err("usage: sealpost-bench envelope [--quick] | platform [--quick] [--postgres URL] [--clients N --messages M] | helper [--quick] | center [--quick] | nodes [--quick] --postgres URL --s3 URL"
                .into())
        }
    };
    if let Err(e) = result {
        eprintln!("sealpost-bench: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn tokio_main(f: impl std::future::Future<Output = Res<()>>) -> Res<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

/// Best of `runs` timings of `f`.
fn best_of(runs: usize, mut f: impl FnMut() -> Res<()>) -> Res<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}

/// Joins the load `tasks` started at `start`, each with the latencies it measured:
/// (operations per second over the whole run, p50, p99).
async fn throughput(
    start: Instant,
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<Duration>, String>>>,
) -> Res<(f64, Duration, Duration)> {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed();
    let (p50, p99) = p50_p99(&mut all);
    Ok((all.len() as f64 / elapsed.as_secs_f64(), p50, p99))
}

/// The median and 99th percentile of `times` (which it sorts).
fn p50_p99(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let pct = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (pct(0.50), pct(0.99))
}

fn gbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

fn envelope(quick: bool) -> Res<()> {
    let mem_size = if quick { 32 * MIB } else { 256 * MIB };
    let file_size = if quick { 64 * MIB } else { 1024 * MIB };
    let key = PrivateKey::generate(RsaBits::Rsa3072)?;

    println!("machine: {}", machine());
    println!();
    println!("| measurement | sealpost | baseline | ratio |");
    println!("|---|---|---|---|");

    // In-memory AES-256-GCM throughput, 64 KiB chunks, against openssl speed.
    let openssl = openssl_speed(if quick { 1 } else { 3 })?;
    // Buffers are allocated once and reused, as a long-running sealer would: the figure is
    // the sealing pipeline, not the kernel faulting in fresh pages.
    let data = vec![0x5Au8; mem_size];
    let manifest = manifest_for(data.len() as u64, ContentHash::of(&data));
    let mut sealed = vec![
        0u8;
        sealer(key.public_key(), &manifest, mem_size as u64, Backend::AwsLc)?
            .header()
            .layout()
            .total_len() as usize
    ];
    let seal_t = best_of(3, || {
        sealer(key.public_key(), &manifest, mem_size as u64, Backend::AwsLc)?
            .seal_into(&[&manifest, &data], &mut sealed)?;
        Ok(())
    })?;
    let seal = gbps(mem_size, seal_t);
    println!(
        "| seal {} MiB in memory (GB/s) | {seal:.2} | openssl speed -evp aes-256-gcm -bytes 65536: {openssl:.2} | {:.2} |",
        mem_size / MIB,
        seal / openssl
    );

    let rc_t = best_of(3, || {
        sealer(key.public_key(), &manifest, mem_size as u64, Backend::RustCrypto)?
            .seal_into(&[&manifest, &data], &mut sealed)?;
        Ok(())
    })?;
    let rc = gbps(mem_size, rc_t);
    println!(
        "| seal {} MiB in memory, pure-Rust backend (GB/s) | {rc:.2} | openssl speed: {openssl:.2} | {:.2} |",
        mem_size / MIB,
        rc / openssl
    );
    let mut plain = vec![0u8; mem_size];
    let open_t = best_of(3, || {
        let header = Header::read_from(&mut &sealed[..], &Limits::default())?;
        let dec = Decryptor::new(header, &key)?;
        Manifest::from_json(&dec.read_part_from_slice(0, &sealed)?)?.check_against(dec.header())?;
        dec.open_part_into(1, &sealed, &mut plain)?;
        Ok(())
    })?;
    let open = gbps(mem_size, open_t);
    println!(
        "| open {} MiB in memory (GB/s) | {open:.2} | openssl speed (same figure): {openssl:.2} | {:.2} |",
        mem_size / MIB,
        open / openssl
    );
    if plain != data {
        return Err("opened bytes differ from the sealed ones".into());
    }
    drop((data, plain, sealed));

    // A large file from disk to disk, in a child process so its peak RSS is its own.
    let dir = std::env::temp_dir().join(format!("sealpost-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("input.bin");
    write_file(&input, file_size)?;
    let out = dir.join("out.sealpost");
    let pubkey = dir.join("platform.pub.pem");
    std::fs::write(&pubkey, key.public_key().to_pem()?)?;
    let me = std::env::current_exe()?;
    let mut rss_kib = 0u64;
    let seal_file_t = best_of(2, || {
        let o = Command::new(&me).arg("seal-file").arg(&pubkey).arg(&input).arg(&out).output()?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).into_owned().into());
        }
        rss_kib = String::from_utf8_lossy(&o.stdout).trim().parse()?;
        Ok(())
    })?;
    let cp_t = best_of(2, || run(Command::new("cp").arg(&input).arg(dir.join("copy.bin"))))?;
    let enc_t = best_of(2, || {
        run(Command::new("openssl")
            .args(["enc", "-aes-256-ctr", "-pbkdf2", "-pass", "pass:bench", "-in"])
            .arg(&input)
            .arg("-out")
            .arg(dir.join("openssl.bin")))
    })?;
    let label = format!("seal a {} MiB file, disk to disk (GB/s)", file_size / MIB);
    let s = gbps(file_size, seal_file_t);
    let c = gbps(file_size, cp_t);
    let e = gbps(file_size, enc_t);
    println!("| {label} | {s:.2} | cp: {c:.2} | {:.2} |", s / c);
    println!("| {label} | {s:.2} | openssl enc -aes-256-ctr: {e:.2} | {:.2} |", s / e);
    println!(
        "| peak RSS sealing the {} MiB file (MiB) | {:.1} | target ≤ 32 | |",
        file_size / MIB,
        rss_kib as f64 / 1024.0
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A manifest listing one attachment of `size` bytes with this SHA-256, as the helper would
/// write it.
fn manifest_for(size: u64, sha256: String) -> Vec<u8> {
    let mut m = Manifest::new(
        Metadata {
            from: "bench@example.com".into(),
            to: vec!["reader@outside.example".into()],
            date: "2026-11-22T10:00:00Z".into(),
            ..Metadata::default()
        },
        Body { text: Some("benchmark".into()), html: None },
    );
    m.attach_hashed("bench.bin", "application/octet-stream", size, sha256);
    m.to_json()
}

fn sealer(key: &PublicKey, manifest: &[u8], attachment_len: u64, backend: Backend) -> Res<Sealer> {
    Ok(Sealer::builder(MessageId::random()?)
        .backend(backend)
        .recipient(StanzaRole::Platform, key)
        .manifest_len(manifest.len() as u64)
        .attachment(attachment_len)
        .build()?)
}

/// Child process: seal `input` into `output` for the public key in `key_pem`, then print its
/// own peak RSS in KiB. Like `cp` and `openssl enc`, it does not fsync. The sealer writes whole
/// 64 KiB chunks, so the output needs no extra buffering.
fn seal_file(key_pem: &Path, input: &Path, output: &Path) -> Res<()> {
    let key = PublicKey::parse(&std::fs::read(key_pem)?)?;
    let len = std::fs::metadata(input)?.len();
    // The manifest's SHA-256 needs the whole attachment: hash it in a first pass, as the
    // helper does when it can re-read its input, then seal in a second.
    let mut hash = ContentHash::new();
    let mut r = BufReader::with_capacity(MIB, File::open(input)?);
    std::io::copy(&mut r, &mut HashWriter(&mut hash))?;
    let manifest = manifest_for(len, hash.finish_hex());
    let mut r = BufReader::with_capacity(MIB, File::open(input)?);
    let mut w = sealer(&key, &manifest, len, Backend::AwsLc)?.into_writer(File::create(output)?);
    w.write_all(&manifest)?;
    std::io::copy(&mut r, &mut w)?;
    w.finish()?;
    println!("{}", peak_rss_kib()?);
    Ok(())
}

/// Feeds written bytes to a hash.
struct HashWriter<'a>(&'a mut ContentHash);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmHWM")?.parse()?)
}

fn write_file(path: &PathBuf, size: usize) -> Res<()> {
    let mut f = BufWriter::with_capacity(MIB, File::create(path)?);
    let block: Vec<u8> = (0..MIB).map(|i| (i * 7 % 251) as u8).collect();
    for _ in 0..size / MIB {
        f.write_all(&block)?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn run(cmd: &mut Command) -> Res<()> {
    let o = cmd.output()?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&o.stderr)).into())
    }
}

/// `openssl speed -evp aes-256-gcm -bytes 65536`, in GB/s.
fn openssl_speed(seconds: u32) -> Res<f64> {
    let o = Command::new("openssl")
        .args(["speed", "-evp", "aes-256-gcm", "-bytes", "65536", "-seconds"])
        .arg(seconds.to_string())
        .output()?;
    let text = String::from_utf8_lossy(&o.stdout);
    // The result line: "AES-256-GCM  <kB/s for 65536-byte blocks>k"
    let line = text
        .lines()
        .rev()
        .find(|l| l.to_ascii_lowercase().starts_with("aes-256-gcm"))
        .ok_or_else(|| format!("unexpected openssl speed output: {text}"))?;
    let kbs: f64 =
        line.split_whitespace().last().ok_or("no figure")?.trim_end_matches('k').parse()?;
    Ok(kbs * 1000.0 / 1e9)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.to_string()))
        .and_then(|l| l.split(':').nth(1).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu}, {cores} cores")
}
