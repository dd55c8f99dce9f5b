//! Large attachments of a Message Center reply, uploaded in pieces before the reply is sent
//! (`center::upload`): the kept header, file key and manifest of the reply being written, and
//! the sealed pieces of each attachment part as they arrive.

use super::StoreError;
use crate::db::{Db, lite_row, now_ms};

/// A reply whose attachments are being uploaded.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UploadRow {
    /// The reply (a message still uploading).
    pub message_id: String,
    /// Who writes it (a Message Center account).
    pub writer: String,
    /// The message it answers.
    pub original_id: String,
    /// The reply's envelope header, made when the upload began.
    pub header: Vec<u8>,
    /// Its file key, under the tenant's data key.
    pub sealed_file_key: Vec<u8>,
    /// Its manifest (attachments' SHA-256 still to fill in), under the tenant's data key.
    pub sealed_manifest: Vec<u8>,
    /// The draft it sends.
    pub draft_id: Option<i64>,
    /// Begun, ms.
    pub created_at: i64,
}

lite_row!(UploadRow {
    message_id,
    writer,
    original_id,
    header,
    sealed_file_key,
    sealed_manifest,
    draft_id,
    created_at
});

/// A stored piece of an attachment part: plaintext `[start, start + len)`, sealed.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Piece {
    /// The envelope part (1 for the first attachment).
    pub part: i64,
    /// Where its plaintext starts in the part.
    pub start: i64,
    /// Its plaintext length.
    pub len: i64,
    /// The blob holding its ciphertext.
    pub blob_name: String,
}

lite_row!(Piece { part, start, len, blob_name });

/// Records a begun upload.
pub async fn begin(db: &Db, row: &UploadRow) -> Result<(), StoreError> {
    let sql = "INSERT INTO reply_uploads (message_id, writer, original_id, header, \
               sealed_file_key, sealed_manifest, draft_id, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let args = [
        row.message_id.as_str().into(),
        row.writer.as_str().into(),
        row.original_id.as_str().into(),
        row.header.as_slice().into(),
        row.sealed_file_key.as_slice().into(),
        row.sealed_manifest.as_slice().into(),
        row.draft_id.into(),
        now_ms().into(),
    ];
    db.execute(sql, &args).await?;
    Ok(())
}

/// The upload of reply `message_id`, if it is being uploaded.
pub async fn get(db: &Db, message_id: &str) -> Result<Option<UploadRow>, StoreError> {
    let sql = "SELECT message_id, writer, original_id, header, sealed_file_key, \
               sealed_manifest, draft_id, created_at FROM reply_uploads WHERE message_id = $1";
    db.fetch_optional(sql, &[message_id.into()]).await
}

/// The stored pieces of reply `message_id`, by part and start.
pub async fn pieces(db: &Db, message_id: &str) -> Result<Vec<Piece>, StoreError> {
    let sql = "SELECT part, start, len, blob_name FROM reply_upload_pieces \
               WHERE message_id = $1 ORDER BY part, start";
    db.fetch_all(sql, &[message_id.into()]).await
}

/// Records a piece stored in blob `piece.blob_name`, if it starts where part `piece.part`
/// ends now; `false` when another piece landed there first (the blob is then the caller's to
/// remove).
pub async fn add_piece(db: &Db, message_id: &str, piece: &Piece) -> Result<bool, StoreError> {
    let sql = "INSERT INTO reply_upload_pieces (message_id, part, start, len, blob_name) \
               SELECT $1, $2, $3, $4, $5 WHERE $3 = (SELECT COALESCE(SUM(len), 0) \
               FROM reply_upload_pieces WHERE message_id = $1 AND part = $2) \
               ON CONFLICT DO NOTHING";
    let args = [
        message_id.into(),
        piece.part.into(),
        piece.start.into(),
        piece.len.into(),
        piece.blob_name.as_str().into(),
    ];
    Ok(db.execute(sql, &args).await? == 1)
}

/// Forgets the upload of reply `message_id` and its pieces' records (once the pieces are the
/// reply's envelope segments, or to discard it); returns the pieces' blob names.
pub async fn forget(db: &Db, message_id: &str) -> Result<Vec<String>, StoreError> {
    let id = message_id.to_owned();
    db.write(move |mut tx| {
        Box::pin(async move {
            let blobs: Vec<(String,)> = tx
                .fetch_all(
                    "SELECT blob_name FROM reply_upload_pieces WHERE message_id = $1",
                    &[id.as_str().into()],
                )
                .await?;
            for statement in [
                "DELETE FROM reply_upload_pieces WHERE message_id = $1",
                "DELETE FROM reply_uploads WHERE message_id = $1",
            ] {
                tx.execute(statement, &[id.as_str().into()]).await?;
            }
            Ok(blobs.into_iter().map(|(b,)| b).collect())
        })
    })
    .await
}
