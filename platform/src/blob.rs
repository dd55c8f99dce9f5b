//! Where envelope bytes live: segments, one per acknowledged upload request.
//!
//! A segment is written under a random name (never derived from the message id), fsynced,
//! renamed into place and its folder fsynced before it is recorded in the database, so an
//! acknowledged segment survives `kill -9` and power loss. A segment written but not yet
//! recorded is an orphan that changes nothing (the client resends from the acknowledged
//! offset).
//!
//! Local files are the embedded default. The S3-compatible backend is not built yet; it will
//! sit behind the same methods (segments map to objects).

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The blob store.
#[derive(Clone, Debug)]
pub enum BlobStore {
    /// Files under a root folder, sharded by the first two hex digits of the name.
    Local {
        /// The root folder.
        root: PathBuf,
    },
}

/// Writing a segment failed.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body was larger than allowed; nothing was kept.
    #[error("upload body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body stream failed (client went away); nothing was kept.
    #[error("upload body ended early: {0}")]
    Body(String),
    /// Disk error.
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

impl BlobStore {
    /// A fresh random name (128 bits, hex).
    pub fn new_name() -> String {
        let mut b = [0u8; 16];
        SystemRandom::new().fill(&mut b).expect("system random");
        hex::encode(b)
    }

    fn path(&self, name: &str) -> PathBuf {
        match self {
            BlobStore::Local { root } => root.join(&name[..2]).join(name),
        }
    }

    /// Streams `body` into a new blob `name`, at most `limit` bytes; durable on return.
    pub async fn put_stream<S, E>(
        &self,
        name: &str,
        mut body: S,
        limit: u64,
    ) -> Result<u64, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = self.path(name);
        let dir = path.parent().expect("sharded path has a parent").to_path_buf();
        tokio::fs::create_dir_all(&dir).await?;
        let tmp = dir.join(format!("{name}.partial"));
        let mut f = tokio::fs::File::create(&tmp).await?;
        let mut written = 0u64;
        let result = async {
            while let Some(piece) = body.next().await {
                let piece = piece.map_err(|e| PutError::Body(e.to_string()))?;
                written += piece.len() as u64;
                if written > limit {
                    return Err(PutError::TooLarge { limit });
                }
                f.write_all(&piece).await?;
            }
            f.sync_all().await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            drop(f);
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &path).await?;
        tokio::fs::File::open(&dir).await?.sync_all().await?;
        Ok(written)
    }

    /// Removes segments a crash left half-written (never acknowledged, so always safe to
    /// drop). Returns how many were removed.
    pub async fn remove_partials(&self) -> io::Result<usize> {
        let BlobStore::Local { root } = self;
        let mut removed = 0;
        let Ok(mut shards) = tokio::fs::read_dir(root).await else { return Ok(0) };
        while let Some(shard) = shards.next_entry().await? {
            if !shard.file_type().await?.is_dir() {
                continue;
            }
            let mut files = tokio::fs::read_dir(shard.path()).await?;
            while let Some(f) = files.next_entry().await? {
                if f.file_name().to_string_lossy().ends_with(".partial") {
                    tokio::fs::remove_file(f.path()).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Reads `range` of blob `name`.
    pub async fn read(&self, name: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
        let mut f = tokio::fs::File::open(self.path(name)).await?;
        f.seek(io::SeekFrom::Start(range.start)).await?;
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        f.read_exact(&mut buf).await?;
        Ok(buf)
    }

    /// Deletes blob `name` (missing is fine).
    pub async fn delete(&self, name: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(name)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
