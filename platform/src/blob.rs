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
//!   place, folder fsynced. The writer holds an advisory lock (`flock`) on the `.partial` file
//!   for as long as it writes, and a guard removes the file when the write fails or its future
//!   is dropped (the client went away mid-body). A `.partial` nobody holds locked is left over
//!   from a crashed process: [`BlobStore::strays`] removes it, from any process, without ever
//!   touching an upload in flight.
//! - S3-compatible storage: each segment is an object, written by multipart upload (memory
//!   stays bounded whatever the segment size); an object appears only once complete, so a
//!   crash leaves nothing half-written to find. A failed or dropped write aborts its multipart
//!   upload; one a crash leaves open is for the bucket's `AbortIncompleteMultipartUpload`
//!   lifecycle rule (see `docs/platform-config.md`).
//!
//! Complete segments that no segment row names (written, then the request failed before it
//! was recorded, or a delete that did not reach the store) are listed by
//! [`BlobStore::strays`] once they are older than a grace period; the sweeper (`sweep.rs`)
//! deletes those the database does not know.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

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

    /// Tidies the store: removes half-written local segments that no process is writing (left
    /// by a crash), and returns the names of complete segments last written between
    /// `written_after` and `written_before`, which the caller holds against the database.
    /// Safe beside uploads in flight, in this process or another: a `.partial` is removed only
    /// while its writer's lock is free, and a complete segment is only listed.
    pub async fn strays(
        &self,
        written_after: SystemTime,
        written_before: SystemTime,
    ) -> io::Result<Strays> {
        let window = move |t: SystemTime| t >= written_after && t < written_before;
        match self {
            BlobStore::Local { root } => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || local_strays(&root, window))
                    .await
                    .map_err(io::Error::other)?
            }
            BlobStore::S3 { store, prefix } => {
                let sep = if prefix.is_empty() { "" } else { "/" };
                let under = ObjectPath::from(format!("{prefix}{sep}envelopes"));
                let mut listing = store.list(Some(&under));
                let mut out = Strays::default();
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(io::Error::other)?;
                    if window(meta.last_modified.into())
                        && let Some(name) = meta.location.filename()
                    {
                        out.complete.push(name.to_string());
                    }
                }
                Ok(out)
            }
        }
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

    /// Proves the store can take a write now: a small file created, synced and removed
    /// under the local root, or a small object put and deleted under the bucket's
    /// `{prefix}/probe/` (two requests; outside `envelopes/`, so the sweeper never sees it).
    /// The error is what a write would have met: a full disk, an unreachable endpoint, a
    /// credential refused.
    pub async fn probe(&self) -> io::Result<()> {
        let name = format!(".probe-{}", crate::secrets::random_id());
        match self {
            BlobStore::Local { root } => {
                let path = root.join(name);
                tokio::task::spawn_blocking(move || {
                    let tried = std::fs::create_dir_all(path.parent().expect("a parent"))
                        .and_then(|()| std::fs::write(&path, b"probe"))
                        .and_then(|()| std::fs::File::open(&path)?.sync_all());
                    let _ = std::fs::remove_file(&path);
                    tried
                })
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)))
            }
            BlobStore::S3 { store, prefix } => {
                let sep = if prefix.is_empty() { "" } else { "/" };
                let path = ObjectPath::from(format!("{prefix}{sep}probe/{name}"));
                store
                    .put(&path, Bytes::from_static(b"probe").into())
                    .await
                    .map_err(io::Error::other)?;
                store.delete(&path).await.map_err(io::Error::other)
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

/// What [`BlobStore::strays`] found.
#[derive(Debug, Default)]
pub struct Strays {
    /// Half-written segments removed (no process was writing them).
    pub partials_removed: usize,
    /// Complete segments written in the asked window: orphans unless a row names them.
    pub complete: Vec<String>,
}

fn local_strays(root: &Path, window: impl Fn(SystemTime) -> bool) -> io::Result<Strays> {
    let mut out = Strays::default();
    let shards = match std::fs::read_dir(root) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for shard in shards {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(shard.path())? {
            let f = f?;
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".partial") {
                if remove_if_unlocked(&f.path())? {
                    out.partials_removed += 1;
                }
            } else if f.metadata().and_then(|m| m.modified()).is_ok_and(&window) {
                out.complete.push(name);
            }
        }
    }
    Ok(out)
}

/// Removes a `.partial` file unless its writer still holds its lock. Holding the lock while
/// unlinking means a writer cannot take it in between (see [`PartialFile::create`]).
fn remove_if_unlocked(path: &Path) -> io::Result<bool> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match f.try_lock() {
        Ok(()) => match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        },
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// A `.partial` segment being written: locked while it lives, removed when dropped unless it
/// was renamed into place. So a request that fails, or whose future is dropped because the
/// client went away, leaves nothing behind.
struct PartialFile {
    path: PathBuf,
    kept: bool,
}

impl PartialFile {
    /// Creates `path` and takes its lock. A tidier in another process may open the new file
    /// and remove it before the lock is taken; the path then no longer names the file we
    /// hold, so we make a new one.
    fn create(path: PathBuf) -> io::Result<(PartialFile, std::fs::File)> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        for _ in 0..3 {
            let f =
                std::fs::File::options().write(true).create_new(true).mode(0o600).open(&path)?;
            let guard = PartialFile { path: path.clone(), kept: false };
            f.lock()?;
            let held = f.metadata()?;
            match std::fs::metadata(&path) {
                Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => {
                    return Ok((guard, f));
                }
                // Removed under us (the name is free again): disarm and make a new one.
                _ => {
                    let mut guard = guard;
                    guard.kept = true;
                }
            }
        }
        Err(io::Error::other(format!("{} keeps being removed while created", path.display())))
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.kept {
            // Synchronous on purpose: a drop cannot await, and unlinking one file is quick.
            let _ = std::fs::remove_file(&self.path);
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
    let (mut guard, f) = tokio::task::spawn_blocking(move || PartialFile::create(tmp))
        .await
        .map_err(io::Error::other)??;
    let mut f = tokio::fs::File::from_std(f);
    let mut written = 0u64;
    while let Some(piece) = next_piece(&mut body, &mut written, limit).await? {
        f.write_all(&piece).await?;
    }
    f.sync_all().await?;
    tokio::fs::rename(&guard.path, path).await?;
    guard.kept = true;
    // The lock goes with the descriptor; the file now has its final name.
    drop(f);
    tokio::fs::File::open(&dir).await?.sync_all().await?;
    Ok(written)
}

/// A multipart upload in progress, aborted when dropped unfinished (a failed write, or a
/// request future dropped because the client went away), so its parts do not linger.
struct S3Upload(Option<WriteMultipart>);

impl Drop for S3Upload {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            // Aborting is a request: it cannot run inside a drop, so it runs on its own.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = w.abort().await;
                });
            }
        }
    }
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
    let mut w = S3Upload(Some(WriteMultipart::new_with_chunk_size(upload, S3_PART)));
    let mut written = 0u64;
    while let Some(piece) = next_piece(&mut body, &mut written, limit).await? {
        let part = w.0.as_mut().expect("taken only on finish or drop");
        part.wait_for_capacity(2).await.map_err(io::Error::other)?;
        part.write(&piece);
    }
    let part = w.0.take().expect("taken only on finish or drop");
    part.finish().await.map_err(io::Error::other)?;
    Ok(written)
}
