//! A message file (`.eml`) sent from the command line, exactly as a mail client would.
//!
//! The file is read twice — sizes and hashes, then the bytes — while the platform is asked for
//! keys during the first read and the envelope is uploaded during the second. With every hash
//! known up front the envelope can be read while it is sealed, so it waits in a memory spool of
//! [`SPOOL_WINDOW`] bytes and nothing of the message is written locally at all.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

use sealpost_envelope::MessageId;
use tokio_util::sync::CancellationToken;

use super::composer::Composer;
use super::deliver::{UnlockCode, deliver, prepare};
use super::spool::SpoolPlace;
use super::{Phase, Report};
use crate::client::Finalised;
use crate::error::{HelperError, Result};
use crate::mime;
use crate::sign_in::{Context, blocking};

/// Sealed bytes held in memory beyond what the platform has acknowledged (upload requests are
/// half of it): the whole of a file send's local footprint, whatever the message size.
pub const SPOOL_WINDOW: usize = 32 << 20;

/// Where the message comes from.
pub enum MessageSource {
    /// A file, streamed (read twice).
    File(PathBuf),
    /// Bytes already in memory (standard input).
    Memory(bytes::Bytes),
}

impl MessageSource {
    fn open(&self) -> Result<Box<dyn std::io::BufRead + Send>> {
        Ok(match self {
            MessageSource::File(p) => Box::new(BufReader::with_capacity(
                256 << 10,
                std::fs::File::open(p)
                    .map_err(|e| HelperError::Message(format!("{}: {e}", p.display())))?,
            )),
            MessageSource::Memory(v) => Box::new(std::io::Cursor::new(v.clone())), // shares the bytes
        })
    }
}

/// Sends the message in `source`, sealing it beside its upload; reports the upload's progress.
pub async fn send_file(
    ctx: &Context,
    source: MessageSource,
    unlock_code: Option<&UnlockCode>,
    report: Report<'_>,
) -> Result<Finalised> {
    let started = std::time::Instant::now();
    let source = Arc::new(source);
    let s = source.clone();
    let headers = blocking(move || mime::headers(s.open()?)).await?;
    let s = source.clone();
    let (scanned, prepared) =
        tokio::join!(blocking(move || mime::scan(s.open()?)), prepare(ctx, &headers));
    let (scanned, prepared) = (scanned?, prepared?);
    let attachment_bytes: u64 = scanned.attachments.iter().map(|a| a.size).sum();
    tracing::info!(attachment_bytes, ms = started.elapsed().as_millis(), "message read");

    let id = MessageId::random()?;
    let (spool, wraps) = (SpoolPlace::Memory(SPOOL_WINDOW), prepared.wraps.clone());
    let attachments = scanned.attachments.clone();
    // The images the HTML embedded follow the message's own parts.
    let first_embedded = attachments.len() - scanned.embedded.len();
    let embedded = scanned.embedded;
    let mut composer =
        blocking(move || Composer::begin(id, scanned.details, &attachments, &wraps, &spool))
            .await?;
    let envelope = composer.envelope_so_far().expect("every hash was announced");
    let cancel = CancellationToken::new();
    let sealing = {
        let cancel = cancel.clone();
        tokio::task::spawn_blocking(move || {
            seal_beside_upload(&cancel, |cancel| {
                mime::stream_attachments(source.open()?, |index, bytes| {
                    if cancel.is_cancelled() {
                        return Err(HelperError::Cancelled);
                    }
                    composer.write(index, bytes).map(drop)
                })
                .and_then(|()| {
                    for (i, bytes) in embedded.iter().enumerate() {
                        composer.write(first_embedded + i, bytes)?;
                    }
                    composer.finish()
                })
            })
        })
    };
    let progress = |done: u64, total: u64| report(Phase::Uploading, done, total);
    let delivered = deliver(&prepared, &envelope, unlock_code, &progress, &cancel).await;
    if delivered.is_err() {
        cancel.cancel();
        envelope.abandon("the upload stopped");
    }
    let sealed = sealing.await.map_err(|e| HelperError::Io(std::io::Error::other(e)))?;
    // A sealing failure explains a cancelled upload better than the cancellation does.
    match (sealed, delivered) {
        (Err(e), _) if !matches!(e, HelperError::Cancelled) => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
        (Ok(_), Ok(finalised)) => {
            tracing::info!(ms = started.elapsed().as_millis(), "delivered");
            Ok(finalised)
        }
    }
}

/// Runs the sealing half of a send while the upload runs beside it, so that each failure is
/// told by the side that caused it. A failed sealing cancels the upload. A failed upload cancels
/// first and then abandons the envelope, which makes a write in flight fail with an I/O error:
/// that error is only the echo of the upload's, so it is reported as `Cancelled` and the
/// upload's own error (quota, revoked token, unreachable platform) is the one the user reads.
fn seal_beside_upload<T>(
    cancel: &CancellationToken,
    seal: impl FnOnce(&CancellationToken) -> Result<T>,
) -> Result<T> {
    match seal(cancel) {
        Err(_) if cancel.is_cancelled() => Err(HelperError::Cancelled),
        Err(e) => {
            cancel.cancel();
            Err(e)
        }
        sealed => sealed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The upload fails while a write is blocked on the spool: the write's error must not
    /// hide the upload's.
    #[test]
    fn a_write_broken_by_a_failed_upload_reports_as_cancelled() {
        let cancel = CancellationToken::new();
        let sealed: Result<()> = seal_beside_upload(&cancel, |upload| {
            upload.cancel(); // what `send_file` does when `deliver` fails, then it abandons
            Err(HelperError::Io(std::io::Error::other("the upload stopped")))
        });
        assert!(matches!(sealed, Err(HelperError::Cancelled)), "{sealed:?}");
    }

    /// Sealing fails on its own: its error stands and the upload is told to stop.
    #[test]
    fn a_sealing_failure_stands_and_stops_the_upload() {
        let cancel = CancellationToken::new();
        let sealed: Result<()> =
            seal_beside_upload(&cancel, |_| Err(HelperError::Message("changed".into())));
        assert!(matches!(sealed, Err(HelperError::Message(ref m)) if m == "changed"));
        assert!(cancel.is_cancelled());
        let fine = seal_beside_upload(&CancellationToken::new(), |_| Ok(7));
        assert_eq!(fine.expect("sealed"), 7);
    }
}
