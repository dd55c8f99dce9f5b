//! Where envelope bytes live: segments, one per acknowledged upload request. (Segments of at
//! most `inline_segment_bytes` skip the blob store and live in the database with their row:
//! see `store::messages::Stored`.)
//!
//! A segment is written under a random name (never derived from the message id) and is
//! durable before it is recorded in the database, so an acknowledged segment survives
//! `kill -9` and power loss. A segment written but not yet recorded is an orphan that changes
//! nothing (the client resends from the acknowledged offset).
//!
//! - Local files (the embedded default): written to `NAME.partial`, fsynced, renamed into
//!   place, folder fsynced. Leftover `.partial` files from a crash are removed at start.
//! - S3-compatible storage: each segment is an object, written by multipart upload (memory
//!   stays bounded whatever the segment size); an object appears only once complete, so a
//!   crash leaves nothing half-written to find.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncWriteExt;

/// The blob store.
#[derive(Clone, Debug)]
pub enum BlobStore {
    /// Files under a root folder, sharded by the first two hex digits of the name.
    Local {
        /// The root folder.
        root: PathBuf,
    },
    /// Objects in an S3-compatible bucket, under a prefix.
    S3 {
        /// The bucket client.
        store: Arc<dyn ObjectStore>,
        /// Key prefix (may be empty).
        prefix: String,
    },
}

/// How to reach an S3-compatible bucket.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL for S3-compatible services (MinIO, moto); AWS when unset.
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Allow plain HTTP (only for local test services).
    pub allow_http: bool,
    /// Key prefix.
    pub prefix: String,
    /// Credentials; when unset, the usual `AWS_*` environment variables apply.
    pub access_key_id: Option<String>,
    /// See `access_key_id`.
    pub secret_access_key: Option<String>,
}

/// Writing a segment failed; nothing was kept.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body was larger than allowed.
    #[error("upload body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body stream failed (client went away).
    #[error("upload body ended early: {0}")]
    Body(String),
    /// Storage error.
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

/// Part size for S3 multipart uploads: 5 MiB, the smallest S3 allows.
const S3_PART: usize = 5 << 20;

impl BlobStore {
    /// A fresh random name (128 bits, hex).
    pub fn new_name() -> String {
        crate::secrets::random_id()
    }

    /// Connects to an S3-compatible bucket.
    pub fn s3(settings: &S3Settings) -> Result<BlobStore, String> {
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http);
        if let Some(e) = &settings.endpoint {
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        let store = b.build().map_err(|e| format!("S3 settings are incomplete: {e}"))?;
        let prefix = settings.prefix.trim_matches('/').to_string();
        Ok(BlobStore::S3 { store: Arc::new(store), prefix })
    }

    fn local_path(root: &Path, name: &str) -> PathBuf {
        root.join(&name[..2]).join(name)
    }

    fn object_path(prefix: &str, name: &str) -> ObjectPath {
        let sep = if prefix.is_empty() { "" } else { "/" };
        ObjectPath::from(format!("{prefix}{sep}envelopes/{}/{name}", &name[..2]))
    }

    /// Streams `body` into a new blob `name`, at most `limit` bytes; durable on return.
    pub async fn put_stream<S, E>(&self, name: &str, body: S, limit: u64) -> Result<u64, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        match self {
            BlobStore::Local { root } => {
                put_local(&Self::local_path(root, name), body, limit).await
            }
            BlobStore::S3 { store, prefix } => {
                put_s3(store.as_ref(), &Self::object_path(prefix, name), body, limit).await
            }
        }
    }

    /// Removes segments a crash left half-written (never acknowledged, so always safe to
    /// drop). Returns how many were removed.
    pub async fn remove_partials(&self) -> io::Result<usize> {
        let BlobStore::Local { root } = self else { return Ok(0) };
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
        match self {
            BlobStore::Local { root } => {
                // One blocking positioned read straight into the buffer: tokio's `File` would
                // hop to the blocking pool per 2 MiB and copy through its own buffer.
                let path = Self::local_path(root, name);
                tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt;
                    let f = std::fs::File::open(path)?;
                    let mut buf = vec![0u8; (range.end - range.start) as usize];
                    f.read_exact_at(&mut buf, range.start)?;
                    Ok(buf)
                })
                .await
                .map_err(io::Error::other)?
            }
            BlobStore::S3 { store, prefix } => {
                let path = Self::object_path(prefix, name);
                let bytes = store.get_range(&path, range).await.map_err(io::Error::other)?;
                Ok(bytes.to_vec())
            }
        }
    }

    /// Deletes blob `name` (missing is fine).
    pub async fn delete(&self, name: &str) -> io::Result<()> {
        match self {
            BlobStore::Local { root } => {
                match tokio::fs::remove_file(Self::local_path(root, name)).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            }
            BlobStore::S3 { store, prefix } => {
                match store.delete(&Self::object_path(prefix, name)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(io::Error::other(e)),
                }
            }
        }
    }
}

/// Takes the next piece of `body`, failing once more than `limit` bytes have come.
async fn next_piece<S, E>(
    body: &mut S,
    written: &mut u64,
    limit: u64,
) -> Result<Option<Bytes>, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    match body.next().await {
        None => Ok(None),
        Some(Err(e)) => Err(PutError::Body(e.to_string())),
        Some(Ok(piece)) => {
            *written += piece.len() as u64;
            if *written > limit {
                return Err(PutError::TooLarge { limit });
            }
            Ok(Some(piece))
        }
    }
}

async fn put_local<S, E>(path: &Path, mut body: S, limit: u64) -> Result<u64, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = path.parent().expect("sharded path has a parent").to_path_buf();
    tokio::fs::create_dir_all(&dir).await?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let mut f = tokio::fs::File::create(&tmp).await?;
    let mut written = 0u64;
    let result = async {
        while let Some(piece) = next_piece(&mut body, &mut written, limit).await? {
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
    tokio::fs::rename(&tmp, path).await?;
    tokio::fs::File::open(&dir).await?.sync_all().await?;
    Ok(written)
}

async fn put_s3<S, E>(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    mut body: S,
    limit: u64,
) -> Result<u64, PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let upload = store.put_multipart(path).await.map_err(io::Error::other)?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, S3_PART);
    let mut written = 0u64;
    let result = async {
        while let Some(piece) = next_piece(&mut body, &mut written, limit).await? {
            w.wait_for_capacity(2).await.map_err(io::Error::other)?;
            w.write(&piece);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            w.finish().await.map_err(io::Error::other)?;
            Ok(written)
        }
        Err(e) => {
            let _ = w.abort().await;
            Err(e)
        }
    }
}
