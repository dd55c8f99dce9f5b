//! What an export of a message holds, decrypted — one list for both forms it takes: a folder
//! (`admin export-message`, [`super::Admin::export_message`]) and a ZIP streamed to a
//! compliance officer's browser from the console ([`zip`]). Either way: `manifest.json`,
//! `body.txt` and/or `body.html`, and `attachments/<part>-<name>` (names reduced to safe
//! characters, so none leaves its folder).

use std::io;
use std::sync::Arc;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use bytes::Bytes;
use futures_util::{AsyncWriteExt, Stream, StreamExt};
use sealpost_envelope::Manifest;
use zeroize::Zeroizing;

use crate::reading::{StoredMessage, stream_range};
use crate::state::AppState;

/// What one file of an export holds.
pub enum Content {
    /// These bytes (the manifest, a body).
    Bytes(Zeroizing<Vec<u8>>),
    /// Envelope part `n`, decrypted as it is written (an attachment, of any size).
    Part(u32),
}

/// One file of an export: its path inside the export, and what it holds.
pub struct Entry {
    /// `manifest.json`, `body.txt`, `attachments/2-report.pdf` …
    pub path: String,
    /// What it holds.
    pub content: Content,
}

/// The files an export of the message with `manifest` holds, in order.
pub fn entries(manifest: &Manifest) -> Vec<Entry> {
    let bytes = |path: &str, b: Vec<u8>| Entry {
        path: path.to_string(),
        content: Content::Bytes(Zeroizing::new(b)),
    };
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest always serialises");
    let mut out = vec![bytes("manifest.json", json)];
    if let Some(text) = &manifest.body.text {
        out.push(bytes("body.txt", text.as_bytes().to_vec()));
    }
    if let Some(html) = &manifest.body.html {
        out.push(bytes("body.html", html.as_bytes().to_vec()));
    }
    out.extend(manifest.attachments.iter().map(|a| Entry {
        path: format!("{ATTACHMENTS}/{}-{}", a.part, safe_file_name(&a.name)),
        content: Content::Part(a.part),
    }));
    out
}

/// The folder attachments go in.
pub const ATTACHMENTS: &str = "attachments";

/// `entries` of `stored` as a ZIP, streamed: each attachment is decrypted as the client takes
/// it (memory stays bounded whatever the size; entries are stored, not compressed — sealed
/// files rarely shrink, and the CPU goes to decrypting), with data descriptors and ZIP64 where
/// sizes need it. A failure part-way ends the stream with an error, so the client sees a
/// broken download, never a short archive that looks whole.
pub fn zip(
    state: AppState,
    stored: Arc<StoredMessage>,
    entries: Vec<Entry>,
) -> impl Stream<Item = io::Result<Bytes>> {
    let (writer, reader) = tokio::io::duplex(256 << 10);
    // The writer's outcome comes after its last byte: the stream ends with an error, not a
    // clean end, when the writer failed (the reader sees EOF before the outcome is known, so
    // it waits for it).
    let (outcome, written) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = write_zip(&state, stored, entries, writer).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "a message export stopped part-way");
        }
        let _ = outcome.send(result);
    });
    let end = futures_util::stream::once(async move {
        match written.await {
            Ok(Ok(())) => None,
            _ => Some(Err(io::Error::other("the export stopped part-way; see the log"))),
        }
    })
    .filter_map(futures_util::future::ready);
    tokio_util::io::ReaderStream::new(reader).chain(end)
}

async fn write_zip(
    state: &AppState,
    stored: Arc<StoredMessage>,
    entries: Vec<Entry>,
    writer: tokio::io::DuplexStream,
) -> Result<(), String> {
    let mut zip = ZipFileWriter::with_tokio(writer);
    for entry in entries {
        let builder = ZipEntryBuilder::new(entry.path.into(), Compression::Stored);
        match entry.content {
            Content::Bytes(bytes) => {
                zip.write_entry_whole(builder, &bytes).await.map_err(|e| e.to_string())?;
            }
            Content::Part(part) => {
                let len = stored.part_len(part).map_err(|e| e.to_string())?;
                let plain = stream_range(stored.clone(), state.clone(), part, 0..len)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut plain = std::pin::pin!(plain);
                let mut file = zip.write_entry_stream(builder).await.map_err(|e| e.to_string())?;
                while let Some(piece) = plain.next().await {
                    let piece = Zeroizing::new(piece.map_err(|e| e.to_string())?.to_vec());
                    file.write_all(&piece).await.map_err(|e| e.to_string())?;
                }
                file.close().await.map_err(|e| e.to_string())?;
            }
        }
    }
    let mut writer = zip.close().await.map_err(|e| e.to_string())?.into_inner();
    tokio::io::AsyncWriteExt::shutdown(&mut writer).await.map_err(|e| e.to_string())
}

/// An attachment's name as an exported file's: letters, digits, `.`, `-` and `_` only, no
/// leading dot, at most 120 characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(120)
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() { "attachment".into() } else { trimmed.into() }
}
