//! The composer: an outgoing message in, a sealed envelope out.
//!
//! The envelope's header declares every part's length and sits first, and the manifest
//! (part 0) lists each attachment's SHA-256, which is only known once the attachment has
//! streamed through. So the [`Composer`]:
//! 1. at [`Composer::begin`] builds the manifest with the declared sizes and placeholder
//!    hashes (a SHA-256 is always 64 hex digits, so the manifest's length is already final),
//!    and the header for all recipients' keys;
//! 2. seals each attachment as its bytes arrive, hashing them on the way, into the
//!    [spool](super::spool), which only ever holds ciphertext;
//! 3. at [`Composer::finish`] fills in the hashes and seals the manifest in memory.
//!
//! The result, a [`SealedEnvelope`], is `header ‖ manifest` in memory followed by the spool,
//! ready for a resumable upload. Plaintext never touches the disk, and memory stays flat
//! whatever the attachments' sizes.

use std::io::Write;
use std::sync::Arc;

use sealpost_envelope::{
    Body, ContentHash, Manifest, MessageId, Metadata, PartSealer, PublicKey, SealWriter, Sealer,
    StanzaRole,
};

use super::details::{AttachmentInfo, MessageDetails};
use super::sealed::SealedEnvelope;
use super::spool::{Spool, SpoolPlace, SpoolWriter};
use crate::error::{HelperError, Result};

/// A hash that is replaced once the real one is known; the same length as any SHA-256 hex.
const PLACEHOLDER_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything the envelope is sealed for.
#[derive(Clone, Debug, Default)]
pub struct Wraps {
    /// (role, key) pairs; the platform's key must be among them.
    pub keys: Vec<(StanzaRole, PublicKey)>,
}

/// The attachment being sealed right now.
struct Current {
    index: usize,
    writer: SealWriter<PartSealer, SpoolWriter>,
    hash: ContentHash,
    received: u64,
}

/// Seals one outgoing message as its attachments stream in (see the module docs).
pub struct Composer {
    id: MessageId,
    details: MessageDetails,
    manifest: Manifest,
    manifest_len: usize,
    sealer: Sealer,
    /// Header and sealed manifest, as soon as they can be known.
    prefix: Option<Arc<Vec<u8>>>,
    /// Hashes announced at the start, checked against the bytes that arrive.
    announced: Option<Vec<String>>,
    spool: Option<Arc<Spool>>,
    current: Option<Current>,
    /// Index of the next attachment to start.
    next: usize,
    hashes: Vec<String>,
}

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer").field("id", &self.id).field("next", &self.next).finish()
    }
}

impl Drop for Composer {
    /// Whoever follows the spool learns that sealing stopped (a finished spool ignores this).
    fn drop(&mut self) {
        if let Some(s) = &self.spool {
            s.fail("sealing stopped before the message was complete");
        }
    }
}

impl Composer {
    /// Starts sealing a message with these attachments (sizes exact) for these keys.
    pub fn begin(
        id: MessageId,
        details: MessageDetails,
        attachments: &[AttachmentInfo],
        wraps: &Wraps,
        spool: &SpoolPlace,
    ) -> Result<Composer> {
        if !wraps.keys.iter().any(|(r, _)| *r == StanzaRole::Platform) {
            return Err(HelperError::Config("no platform key to seal for".into()));
        }
        let mut manifest = Manifest::new(
            Metadata {
                from: details.from.clone(),
                to: details.to.clone(),
                cc: details.cc.clone(),
                subject: details.subject.clone(),
                date: details.date.clone().unwrap_or_else(now_rfc3339),
                message_id: details.internet_message_id.clone(),
                headers: details.headers.clone(),
            },
            Body { text: details.text.clone(), html: details.html.clone() },
        );
        let announced: Option<Vec<String>> =
            attachments.iter().map(|a| a.sha256.as_ref().map(|h| h.to_ascii_lowercase())).collect();
        if let Some(hashes) = &announced
            && hashes.iter().any(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(HelperError::BadRequest(
                "an attachment's sha256 is not 64 hex digits".into(),
            ));
        }
        for (i, a) in attachments.iter().enumerate() {
            let hash = announced.as_ref().map_or(PLACEHOLDER_HASH.to_string(), |h| h[i].clone());
            manifest.attach_hashed(&a.name, &a.content_type, a.size, hash);
            if let Some(last) = manifest.attachments.last_mut() {
                last.content_id = a.content_id.clone();
            }
        }
        let json = manifest.to_json();
        let mut builder = Sealer::builder(id).parts_for(&manifest, &json);
        for (role, key) in &wraps.keys {
            builder = builder.recipient(*role, key);
        }
        let sealer = builder.build()?;
        if matches!(spool, SpoolPlace::Memory(_)) && announced.is_none() {
            return Err(HelperError::Config(
                "a memory spool needs every attachment's hash up front".into(),
            ));
        }
        let spool = if attachments.is_empty() { None } else { Some(Spool::create(spool)?) };
        // With every hash known, the manifest is final now and the envelope can be read (and
        // uploaded) while the attachments are still being sealed.
        let prefix = match &announced {
            Some(_) => Some(Arc::new(seal_prefix(&sealer, &json)?)),
            None => None,
        };
        Ok(Composer {
            id,
            details,
            manifest_len: json.len(),
            manifest,
            sealer,
            prefix,
            announced,
            spool,
            current: None,
            next: 0,
            hashes: Vec::with_capacity(attachments.len()),
        })
    }

    /// The envelope, readable while it is still being sealed, when every attachment's hash
    /// was announced at the start; reads wait for the sealing to catch up, and fail if it
    /// fails.
    pub fn envelope_so_far(&self) -> Option<SealedEnvelope> {
        Some(SealedEnvelope {
            id: self.id,
            details: self.details.clone(),
            prefix: self.prefix.clone()?,
            spool: self.spool.clone(),
            envelope_size: self.envelope_size(),
        })
    }

    /// The sealed envelope's exact size.
    pub fn envelope_size(&self) -> u64 {
        self.sealer.header().layout().total_len()
    }

    /// Takes the next bytes of attachment `index`. Attachments arrive in order, each
    /// completely before the next starts.
    pub fn write(&mut self, index: usize, bytes: &[u8]) -> Result<u64> {
        if self.current.as_ref().map(|c| c.index) != Some(index) {
            self.start(index)?;
        }
        let current = self.current.as_mut().expect("started above");
        let info = &self.manifest.attachments[index];
        let received = current.received + bytes.len() as u64;
        if received > info.size {
            return Err(HelperError::BadRequest(format!(
                "attachment {} ({}) was announced as {} bytes but more arrived",
                index + 1,
                info.name,
                info.size
            )));
        }
        current.hash.update(bytes);
        std::io::Write::write_all(&mut current.writer, bytes)?;
        current.received = received;
        Ok(received)
    }

    fn start(&mut self, index: usize) -> Result<()> {
        self.close_current()?;
        self.seal_empty_attachments(index)?;
        if index != self.next || index >= self.manifest.attachments.len() {
            return Err(HelperError::BadRequest(format!(
                "attachment {} arrived out of order: expected attachment {} of {}",
                index + 1,
                self.next + 1,
                self.manifest.attachments.len()
            )));
        }
        self.open(index)
    }

    fn open(&mut self, index: usize) -> Result<()> {
        let spool = self.spool.clone().expect("a spool exists while attachments are open");
        let part = self.sealer.part_sealer(index as u32 + 1)?;
        self.current = Some(Current {
            index,
            writer: SealWriter::new(part, SpoolWriter(spool)),
            hash: ContentHash::new(),
            received: 0,
        });
        self.next = index + 1;
        Ok(())
    }

    /// Seals the empty attachments before `until`: they have no bytes to wait for.
    fn seal_empty_attachments(&mut self, until: usize) -> Result<()> {
        while self.next < until.min(self.manifest.attachments.len())
            && self.manifest.attachments[self.next].size == 0
        {
            self.open(self.next)?;
            self.close_current()?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(c) = self.current.take() {
            let info = &self.manifest.attachments[c.index];
            if c.received != info.size {
                return Err(HelperError::BadRequest(format!(
                    "attachment {} ({}) was announced as {} bytes but {} arrived",
                    c.index + 1,
                    info.name,
                    info.size,
                    c.received
                )));
            }
            c.writer.finish()?;
            self.hashes.push(c.hash.finish_hex());
        }
        Ok(())
    }

    /// Completes sealing: every attachment must have arrived in full.
    pub fn finish(mut self) -> Result<SealedEnvelope> {
        self.close_current()?;
        self.seal_empty_attachments(usize::MAX)?;
        if self.hashes.len() != self.manifest.attachments.len() {
            return Err(HelperError::BadRequest(format!(
                "only {} of {} attachments arrived",
                self.hashes.len(),
                self.manifest.attachments.len()
            )));
        }
        let prefix = match (&self.announced, &self.prefix) {
            (Some(announced), Some(prefix)) => {
                if let Some(i) = (0..announced.len()).find(|&i| announced[i] != self.hashes[i]) {
                    let why = format!(
                        "attachment {} ({}) changed while it was being sent; nothing was sent",
                        i + 1,
                        self.manifest.attachments[i].name
                    );
                    if let Some(s) = &self.spool {
                        s.fail(&why);
                    }
                    return Err(HelperError::Message(why));
                }
                prefix.clone()
            }
            _ => {
                for (a, h) in self.manifest.attachments.iter_mut().zip(&self.hashes) {
                    a.sha256 = h.clone();
                }
                let json = self.manifest.to_json();
                assert_eq!(json.len(), self.manifest_len, "hashes have a fixed length");
                Arc::new(seal_prefix(&self.sealer, &json)?)
            }
        };
        if let Some(s) = &self.spool {
            s.finish();
        }
        let envelope_size = self.envelope_size();
        Ok(SealedEnvelope {
            id: self.id,
            details: std::mem::take(&mut self.details),
            prefix,
            spool: self.spool.clone(),
            envelope_size,
        })
    }
}

/// The header followed by the sealed manifest.
fn seal_prefix(sealer: &Sealer, manifest_json: &[u8]) -> Result<Vec<u8>> {
    let header = sealer.header().as_bytes().to_vec();
    let mut writer = SealWriter::new(sealer.part_sealer(0)?, header);
    writer.write_all(manifest_json)?;
    Ok(writer.finish()?)
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use sealpost_envelope::{OpenOptions, PrivateKey, RsaBits};

    fn setup() -> (PrivateKey, Wraps, tempfile::TempDir) {
        let key = PrivateKey::generate(RsaBits::Rsa3072).expect("key");
        let wraps = Wraps { keys: vec![(StanzaRole::Platform, key.public_key().clone())] };
        (key, wraps, tempfile::tempdir().expect("tmp"))
    }

    fn details() -> MessageDetails {
        MessageDetails {
            from: "alice@acme.example".into(),
            to: vec!["bob@outside.example".into()],
            subject: "Q3".into(),
            text: Some("numbers attached".into()),
            ..MessageDetails::default()
        }
    }

    fn info(name: &str, bytes: &[u8], hashed: bool) -> AttachmentInfo {
        AttachmentInfo {
            name: name.into(),
            content_type: "application/octet-stream".into(),
            size: bytes.len() as u64,
            content_id: None,
            sha256: hashed.then(|| ContentHash::of(bytes)),
        }
    }

    #[test]
    fn attachments_stream_in_and_the_envelope_opens_to_them() {
        let (key, wraps, dir) = setup();
        let a: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let infos =
            [info("a.bin", &a, false), info("empty", b"", false), info("b.txt", b"hi", false)];
        let mut c = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &infos,
            &wraps,
            &SpoolPlace::Disk(dir.path().to_path_buf()),
        )
        .expect("begin");
        assert!(c.envelope_so_far().is_none(), "without hashes the manifest comes last");
        for piece in a.chunks(70_000) {
            c.write(0, piece).expect("write");
        }
        c.write(2, b"hi").expect("the empty attachment in between needs no bytes");
        let size = c.envelope_size();
        let sealed = c.finish().expect("finish");
        let bytes = sealed.to_vec().expect("read");
        assert_eq!(bytes.len() as u64, size);
        let (_, opened) =
            sealpost_envelope::open(&bytes, &key, &OpenOptions::default()).expect("open");
        assert_eq!(
            opened.attachments.iter().map(|x| x.to_vec()).collect::<Vec<_>>(),
            [a, vec![], b"hi".to_vec()]
        );
        assert_eq!(opened.manifest.attachments[0].sha256, ContentHash::of(&opened.attachments[0]));
        assert!(!contains(&bytes, b"numbers attached"), "sealed");
    }

    #[test]
    fn with_announced_hashes_the_envelope_is_read_while_it_is_sealed() {
        let (key, wraps, dir) = setup();
        let a: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7) as u8).collect();
        let mut c = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &[info("a.bin", &a, true)],
            &wraps,
            &SpoolPlace::Disk(dir.path().to_path_buf()),
        )
        .expect("begin");
        let so_far = c.envelope_so_far().expect("hashes were announced");
        let reader = std::thread::spawn(move || so_far.to_vec());
        for piece in a.chunks(65_536) {
            c.write(0, piece).expect("write");
        }
        let sealed = c.finish().expect("finish");
        let followed = reader.join().expect("thread").expect("the follower read to the end");
        assert_eq!(followed, sealed.to_vec().expect("read"));
        let (_, opened) =
            sealpost_envelope::open(&followed, &key, &OpenOptions::default()).expect("open");
        assert_eq!(opened.attachments[0].to_vec(), a);
    }

    #[test]
    fn a_changed_attachment_fails_the_send_and_wakes_the_reader() {
        let (_, wraps, dir) = setup();
        let mut announced = info("a.bin", b"original bytes", true);
        announced.size = 14;
        let mut c = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &[announced],
            &wraps,
            &SpoolPlace::Disk(dir.path().to_path_buf()),
        )
        .expect("begin");
        let so_far = c.envelope_so_far().expect("announced");
        let reader = std::thread::spawn(move || so_far.to_vec());
        c.write(0, b"CHANGED bytes!").expect("write");
        let e = c.finish().expect_err("the hash differs");
        assert!(e.to_string().contains("changed while it was being sent"), "{e}");
        assert!(
            reader.join().expect("thread").is_err(),
            "the upload side learns it, it does not hang"
        );

        // Dropping a composer half-way also ends a follower's wait.
        let data = vec![1u8; 100];
        let mut c = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &[info("x", &data, true)],
            &wraps,
            &SpoolPlace::Disk(dir.path().to_path_buf()),
        )
        .expect("begin");
        let so_far = c.envelope_so_far().expect("announced");
        c.write(0, &data[..10]).expect("write");
        drop(c);
        assert!(so_far.to_vec().is_err());
    }

    #[test]
    fn bytes_that_do_not_fit_the_announcement_are_refused() {
        let (_, wraps, dir) = setup();
        let infos = [info("a", b"12345", false), info("b", b"678", false)];
        let begin = || {
            Composer::begin(
                MessageId::random().expect("id"),
                details(),
                &infos,
                &wraps,
                &SpoolPlace::Disk(dir.path().to_path_buf()),
            )
            .expect("begin")
        };
        let mut c = begin();
        assert!(c.write(1, b"678").expect_err("out of order").to_string().contains("out of order"));
        let mut c2 = begin();
        assert!(c2.write(0, b"123456").expect_err("too long").to_string().contains("more arrived"));
        let mut c3 = begin();
        c3.write(0, b"123").expect("write");
        assert!(c3.write(1, b"678").expect_err("short").to_string().contains("but 3 arrived"));
        let mut c4 = begin();
        c4.write(0, b"12345").expect("write");
        assert!(c4.finish().expect_err("missing").to_string().contains("1 of 2"));
        drop(c);
    }

    #[test]
    fn a_memory_spool_holds_only_its_window_and_waits_for_acknowledgements() {
        let (key, wraps, _dir) = setup();
        let a: Vec<u8> = (0..1_000_000u32).map(|i| (i * 13) as u8).collect();
        let window = 64 << 10;
        let mut c = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &[info("a.bin", &a, true)],
            &wraps,
            &SpoolPlace::Memory(window),
        )
        .expect("begin");
        let envelope = c.envelope_so_far().expect("announced");
        let segment = envelope.max_segment().expect("memory spool") as usize;
        assert_eq!(segment, window / 2);
        // An uploader: reads a segment, then acknowledges it, as the platform client does.
        let uploader = std::thread::spawn(move || {
            let mut out = Vec::new();
            while (out.len() as u64) < envelope.envelope_size() {
                let want = segment.min((envelope.envelope_size() - out.len() as u64) as usize);
                let mut seg = vec![0u8; want];
                envelope.reader_from(out.len() as u64).read_exact(&mut seg)?;
                out.extend(seg);
                envelope.acknowledged(out.len() as u64);
                let held = envelope.spool.as_ref().map_or(0, |s| s.held());
                assert!(held <= window, "never more than the window in memory: {held}");
            }
            Ok::<_, std::io::Error>(out)
        });
        for piece in a.chunks(10_000) {
            c.write(0, piece).expect("write (waits for the uploader when the window is full)");
        }
        c.finish().expect("finish");
        let uploaded = uploader.join().expect("thread").expect("upload");
        let (_, opened) =
            sealpost_envelope::open(&uploaded, &key, &OpenOptions::default()).expect("open");
        assert_eq!(opened.attachments[0].to_vec(), a);

        // Without announced hashes a memory spool cannot work (the upload could never start).
        let (_, wraps, _) = setup();
        let e = Composer::begin(
            MessageId::random().expect("id"),
            details(),
            &[info("x", b"x", false)],
            &wraps,
            &SpoolPlace::Memory(window),
        );
        assert!(e.is_err());
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }
}
