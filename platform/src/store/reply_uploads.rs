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
    /// The reply's envelope size, counted against the writer's limits while it uploads.
    pub declared_size: i64,
    /// The reply's envelope header, made when the upload began.
    pub header: Vec<u8>,
    /// Its file key, under the tenant's data key.
    pub sealed_file_key: Vec<u8>,
    /// The key the pieces are staged under, under the tenant's data key.
    pub sealed_staging_key: Vec<u8>,
    /// Its manifest (attachments' SHA-256 still to fill in), under the tenant's data key.
    pub sealed_manifest: Vec<u8>,
    /// The draft it sends.
    pub draft_id: Option<i64>,
}

lite_row!(UploadRow {
    message_id,
    writer,
    original_id,
    declared_size,
    header,
    sealed_file_key,
    sealed_staging_key,
    sealed_manifest,
    draft_id
});

/// Uploads one writer may have in flight at once.
pub const SLOTS: i64 = 2;

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

/// Records a begun upload in one of the writer's [`SLOTS`]; `false` when every slot is
/// taken (the unique slot makes that hold however many begin at once, on any node).
pub async fn begin(db: &Db, row: &UploadRow) -> Result<bool, StoreError> {
    let sql = "INSERT INTO reply_uploads (message_id, writer, slot, original_id, declared_size, \
               header, sealed_file_key, sealed_staging_key, sealed_manifest, draft_id, \
               created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT DO NOTHING";
    for slot in 0..SLOTS {
        let args = [
            row.message_id.as_str().into(),
            row.writer.as_str().into(),
            slot.into(),
            row.original_id.as_str().into(),
            row.declared_size.into(),
            row.header.as_slice().into(),
            row.sealed_file_key.as_slice().into(),
            row.sealed_staging_key.as_slice().into(),
            row.sealed_manifest.as_slice().into(),
            row.draft_id.into(),
            now_ms().into(),
        ];
        if db.execute(sql, &args).await? == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes upload `message_id` for a send until `until` (ms), unless another send holds it;
/// whether this one got it.
pub async fn claim_send(db: &Db, message_id: &str, until: i64) -> Result<bool, StoreError> {
    let sql = "UPDATE reply_uploads SET sending_until = $1 WHERE message_id = $2 \
               AND (sending_until IS NULL OR sending_until < $3)";
    Ok(db.execute(sql, &[until.into(), message_id.into(), now_ms().into()]).await? == 1)
}

/// Lets a send that failed go, so the writer can try again at once.
pub async fn release_send(db: &Db, message_id: &str) -> Result<(), StoreError> {
    let sql = "UPDATE reply_uploads SET sending_until = NULL WHERE message_id = $1";
    db.execute(sql, &[message_id.into()]).await?;
    Ok(())
}

/// The upload of reply `message_id`, if it is being uploaded.
pub async fn get(db: &Db, message_id: &str) -> Result<Option<UploadRow>, StoreError> {
    let sql = "SELECT message_id, writer, original_id, declared_size, header, sealed_file_key, \
               sealed_staging_key, sealed_manifest, draft_id FROM reply_uploads \
               WHERE message_id = $1";
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
/// remove). The upload counts as active from now (the abandoned-upload sweep waits on it).
pub async fn add_piece(db: &Db, message_id: &str, piece: &Piece) -> Result<bool, StoreError> {
    let id = message_id.to_owned();
    let piece = piece.clone();
    db.write(move |mut tx| {
        Box::pin(async move {
            let sql = "INSERT INTO reply_upload_pieces (message_id, part, start, len, blob_name) \
                       SELECT $1, $2, $3, $4, $5 WHERE $3 = (SELECT COALESCE(SUM(len), 0) \
                       FROM reply_upload_pieces WHERE message_id = $1 AND part = $2) \
                       ON CONFLICT DO NOTHING";
            let args = [
                id.as_str().into(),
                piece.part.into(),
                piece.start.into(),
                piece.len.into(),
                piece.blob_name.as_str().into(),
            ];
            if tx.execute(sql, &args).await? != 1 {
                return Ok(false);
            }
            let sql = "UPDATE reply_uploads SET updated_at = $1 WHERE message_id = $2";
            tx.execute(sql, &[now_ms().into(), id.as_str().into()]).await?;
            Ok(true)
        })
    })
    .await
}

/// Forgets the upload of reply `message_id` and its pieces' records (once the reply is sent);
/// returns the staged pieces' blob names, for the caller to remove.
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
