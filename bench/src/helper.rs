//! Helper benchmarks, with the real `sealpost-helper` and `sealpost-platform` binaries:
//! - `sealpost-helper send FILE.eml` of a 100 MiB and a 1 GiB message (one base64 attachment)
//!   beside `curl -T` of an already-sealed envelope of the same size to the same upload
//!   endpoint — wall-time ratio — and the helper's peak RSS;
//! - native-messaging ingest: attachment pieces through the host's framing, base64 decoding
//!   and encryption, beside coreutils `base64 -d` of the same data (decoding alone).
//!
//! Needs a Secret Service for the helper's sign-in: run it through `scripts/with-keyring`.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Res;
use crate::platform::{self, PASSWORD, Platform};

/// A user's helper set up against the platform: its own HOME, IT settings trusting the
/// platform's certificate, signed in.
struct Desk {
    home: std::path::PathBuf,
    bin: std::path::PathBuf,
}

impl Desk {
    fn new(p: &Platform, dir: &Path) -> Res<Desk> {
        let home = dir.join("home");
        std::fs::create_dir_all(&home)?;
        std::fs::write(
            home.join("it-helper.toml"),
            format!("platform = {:?}\ntls_ca_file = {:?}\n", p.base, p.cert),
        )?;
        let desk = Desk { home, bin: platform::sibling_binary("sealpost-helper")? };
        let mut sign_in = desk
            .command()
            .args(["sign-in", "--email", "sender@bench.example", "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        sign_in.stdin.take().ok_or("stdin")?.write_all(format!("{PASSWORD}\n").as_bytes())?;
        let out = sign_in.wait_with_output()?;
        if !out.status.success() {
            return Err(format!(
                "helper sign-in: {} (run through scripts/with-keyring)",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(desk)
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("HOME", &self.home)
            .env("SEALPOST_HELPER_SYSTEM_CONFIG", self.home.join("it-helper.toml"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME");
        c
    }
}

/// Writes an `.eml` with a short body and one attachment of `size` bytes, base64 in 76-column
/// lines as mail clients write it.
fn write_eml(path: &Path, size: u64) -> Res<()> {
    use base64::Engine;
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write!(
        w,
        "From: sender@bench.example\r\nTo: reader@outside.example\r\nSubject: Benchmark\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nThe figures are attached.\r\n--b\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"figures.bin\"\r\n\r\n"
    )?;
    // 57 bytes of input make one 76-character line; blocks of 57 × 1024 bytes.
    let block: Vec<u8> =
        (0..57 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let mut left = size;
    let mut line = String::new();
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        for piece in block[..n].chunks(57) {
            line.clear();
            base64::engine::general_purpose::STANDARD.encode_string(piece, &mut line);
            w.write_all(line.as_bytes())?;
            w.write_all(b"\r\n")?;
        }
        left -= n as u64;
    }
    w.write_all(b"--b--\r\n")?;
    w.flush()?;
    Ok(())
}

/// Runs `helper send FILE`; returns the wall time and the helper's peak RSS (KiB, from the
/// kernel's high-water mark `VmHWM`, read until the process ends).
fn timed_send(desk: &Desk, eml: &Path) -> Res<(Duration, u64)> {
    Command::new("sync").status()?;
    let start = Instant::now();
    let mut child = desk
        .command()
        .args(["send", &eml.to_string_lossy(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            let hwm = s.lines().find(|l| l.starts_with("VmHWM:"));
            peak =
                peak.max(hwm.and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    if !status.success() {
        let mut err = String::new();
        child.stderr.take().ok_or("stderr")?.read_to_string(&mut err)?;
        return Err(format!("helper send: {err}").into());
    }
    Ok((elapsed, peak))
}

/// Native-messaging ingest: `total` bytes in 4 MiB pieces through the real host, at most two
/// unacknowledged at a time; returns decoded bytes per second.
fn nm_ingest(desk: &Desk, total: usize) -> Res<f64> {
    use base64::Engine;
    let mut host = desk
        .command()
        .arg("host")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = host.stdin.take().ok_or("stdin")?;
    let mut stdout = host.stdout.take().ok_or("stdout")?;
    let mut write = |v: &[u8]| -> Res<()> {
        stdin.write_all(&(v.len() as u32).to_ne_bytes())?;
        stdin.write_all(v)?;
        Ok(stdin.flush()?)
    };
    let mut read = || -> Res<Value> {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len)?;
        let mut reply = vec![0u8; u32::from_ne_bytes(len) as usize];
        stdout.read_exact(&mut reply)?;
        let reply: Value = serde_json::from_slice(&reply)?;
        if reply["ok"] != true {
            return Err(format!("host: {reply}").into());
        }
        Ok(reply)
    };
    let piece = 4 << 20;
    write(json!({"id": 1, "type": "send_begin",
        "message": {"from": "sender@bench.example", "to": ["reader@outside.example"], "subject": "ingest"},
        "attachments": [{"name": "a.bin", "size": total}]}).to_string().as_bytes())?;
    let begin = read()?;
    let send = begin["send"].as_str().ok_or("no send id")?.to_string();
    let data: Vec<u8> =
        (0..piece as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    // The frame is built once: what is measured is the helper's side of the port.
    let frame =
        json!({"id": 2, "type": "send_piece", "send": send, "attachment": 0, "data": encoded})
            .to_string();
    let pieces = total / piece;
    let start = Instant::now();
    // Two pieces in flight, as the extension sends them (docs/native-messaging.md).
    let mut in_flight = 0;
    for _ in 0..pieces {
        if in_flight == 2 {
            read()?;
            in_flight -= 1;
        }
        write(frame.as_bytes())?;
        in_flight += 1;
    }
    for _ in 0..in_flight {
        read()?;
    }
    let elapsed = start.elapsed();
    write(json!({"id": 3, "type": "cancel", "send": send}).to_string().as_bytes())?;
    read()?;
    drop(stdin);
    host.wait()?;
    Ok(total as f64 / elapsed.as_secs_f64())
}

/// `base64 -d` of the same amount of base64 text, to /dev/null: decoding alone.
fn base64_decode_rate(dir: &Path, total: usize) -> Res<f64> {
    use base64::Engine;
    let path = dir.join("piece.b64");
    let data: Vec<u8> =
        (0..total as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(&data))?;
    let start = Instant::now();
    let status = Command::new("base64").arg("-d").arg(&path).stdout(Stdio::null()).status()?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err("base64 -d failed".into());
    }
    Ok(total as f64 / elapsed.as_secs_f64())
}

/// The benchmark.
pub(crate) async fn run(quick: bool) -> Res<()> {
    let dir = platform::tempdir()?;
    let p = platform::start_platform(&dir, None).await?;
    let desk = Desk::new(&p, &dir)?;
    let key = platform::platform_key(&p).await?;
    let sizes: &[u64] = if quick { &[16 << 20] } else { &[100 << 20, 1 << 30] };
    println!(
        "| measurement | sealpost-helper send | baseline: curl -T of the sealed envelope | ratio (target ≤ 1.15) | helper peak RSS (target ≤ 64 MiB) |"
    );
    println!("|---|---|---|---|---|");
    for &size in sizes {
        let eml = dir.join("message.eml");
        write_eml(&eml, size)?;
        let (helper_t, peak_kib) = timed_send(&desk, &eml)?;
        std::fs::remove_file(&eml)?;
        let sealed = dir.join("sealed.sealpost");
        let (id, envelope_len) = platform::seal_file(&key, size, &sealed)?;
        let curl_t = platform::curl_sealed_upload(&p, &id, envelope_len, &sealed).await?;
        std::fs::remove_file(&sealed)?;
        let rate = |d: Duration| envelope_len as f64 / d.as_secs_f64() / 1e9;
        println!(
            "| send a {} MiB attachment | {:.2} s ({:.2} GB/s) | {:.2} s ({:.2} GB/s) | {:.2} | {:.1} MiB |",
            size >> 20,
            helper_t.as_secs_f64(),
            rate(helper_t),
            curl_t.as_secs_f64(),
            rate(curl_t),
            helper_t.as_secs_f64() / curl_t.as_secs_f64(),
            peak_kib as f64 / 1024.0,
        );
    }
    let total = if quick { 32 << 20 } else { 512 << 20 };
    let ingest = nm_ingest(&desk, total)?;
    let decode = base64_decode_rate(&dir, 64 << 20)?;
    println!();
    println!(
        "| measurement | sealpost-helper host | baseline: coreutils base64 -d (decoding only) | ratio |"
    );
    println!("|---|---|---|---|");
    println!(
        "| native-messaging ingest, 4 MiB pieces: framing + JSON + base64 + AES-256-GCM + SHA-256 + spool (MB/s, target ≥ 300) | {:.0} | {:.0} | {:.2} |",
        ingest / 1e6,
        decode / 1e6,
        ingest / decode
    );
    drop(p);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
