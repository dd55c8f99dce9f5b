//! A message the mail client streams in over native messaging: [`StreamedSend::begin`]
//! prepares and starts sealing, each attachment's bytes are sealed as they arrive, and
//! [`StreamedSend::end`] hands over what remains — finish sealing, then deliver — to run on its
//! own task while the host answers other requests.
//!
//! The envelope waits in a disk spool (ciphertext only): the mail client does not announce the
//! attachments' hashes, so the manifest, and with it the envelope's first bytes, is only final
//! once the last attachment has arrived.

use std::sync::Arc;

use sealpost_envelope::MessageId;
use tokio_util::sync::CancellationToken;

use super::composer::Composer;
use super::deliver::{Prepared, UnlockCode, deliver, prepare};
use super::details::{AttachmentInfo, MessageDetails};
use super::spool::SpoolPlace;
use super::{Phase, Report};
use crate::client::Finalised;
use crate::error::{HelperError, Result};
use crate::sign_in::{Context, blocking};

/// A send between its beginning and its end.
pub struct StreamedSend {
    id: MessageId,
    envelope_size: u64,
    /// Until the end: afterwards the sealing belongs to the [`Delivery`].
    composer: Option<Composer>,
    prepared: Arc<Prepared>,
    unlock_code: Option<UnlockCode>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for StreamedSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedSend").field("id", &self.id).finish_non_exhaustive()
    }
}

impl StreamedSend {
    /// Checks the sign-in and the sender, gathers the keys to seal for and starts sealing a
    /// message with these attachments (sizes exact).
    pub async fn begin(
        ctx: &Context,
        details: MessageDetails,
        attachments: Vec<AttachmentInfo>,
        unlock_code: Option<UnlockCode>,
    ) -> Result<StreamedSend> {
        let prepared = prepare(ctx, &details).await?;
        let id = MessageId::random()?;
        let spool = SpoolPlace::Disk(ctx.paths.spool_dir());
        let wraps = prepared.wraps.clone();
        let composer =
            blocking(move || Composer::begin(id, details, &attachments, &wraps, &spool)).await?;
        Ok(StreamedSend {
            id,
            envelope_size: composer.envelope_size(),
            composer: Some(composer),
            prepared: Arc::new(prepared),
            unlock_code,
            cancel: CancellationToken::new(),
        })
    }

    /// The Sealpost message id (also the send's id).
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// The sealed envelope's exact size.
    pub fn envelope_size(&self) -> u64 {
        self.envelope_size
    }

    /// Seals the next bytes of attachment `index`; answers how many bytes of it have arrived.
    pub fn write(&mut self, index: usize, bytes: &[u8]) -> Result<u64> {
        let id = self.id;
        self.composer.as_mut().ok_or_else(|| already_ended(id))?.write(index, bytes)
    }

    /// The attachments are complete: what remains (finish sealing, deliver) is the returned
    /// [`Delivery`]'s. A send ends once.
    pub fn end(&mut self) -> Result<Delivery> {
        let composer = self.composer.take().ok_or_else(|| already_ended(self.id))?;
        Ok(Delivery {
            composer,
            prepared: self.prepared.clone(),
            unlock_code: self.unlock_code.take(),
            cancel: self.cancel.clone(),
        })
    }

    /// Stops the send wherever it is; a running delivery ends as cancelled.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

fn already_ended(id: MessageId) -> HelperError {
    HelperError::BadRequest(format!("send {id} has already ended"))
}

/// The rest of a streamed send once every attachment has arrived.
pub struct Delivery {
    composer: Composer,
    prepared: Arc<Prepared>,
    unlock_code: Option<UnlockCode>,
    cancel: CancellationToken,
}

impl Delivery {
    /// Finishes sealing, then uploads and finalises (see [`deliver`]), reporting each phase.
    pub async fn run(self, report: Report<'_>) -> Result<Finalised> {
        let Delivery { composer, prepared, unlock_code, cancel } = self;
        report(Phase::Sealing, 0, composer.envelope_size());
        let sealed = blocking(move || composer.finish()).await?;
        let progress = |done: u64, total: u64| report(Phase::Uploading, done, total);
        deliver(&prepared, &sealed, unlock_code.as_ref(), &progress, &cancel).await
    }
}
