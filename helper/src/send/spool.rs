//! The spool: where sealed attachment parts wait for upload, only ever as ciphertext.
//!
//! On disk it is an unnamed temporary file (removed by the OS even if the helper dies); in
//! memory it holds at most a window of bytes beyond what the platform has acknowledged, and
//! the writer waits for the upload to catch up. Readers may follow the writer: a read past
//! what is written waits for more, for the end, or for a failure.

use std::fs::File;
use std::sync::{Arc, Condvar, Mutex};

/// Where sealed attachment parts wait for upload.
#[derive(Clone, Debug)]
pub enum SpoolPlace {
    /// An unnamed temporary file in this folder: holds the whole envelope, for messages
    /// whose upload can only start once every attachment is sealed (the mail-client path).
    Disk(std::path::PathBuf),
    /// Memory, at most this many bytes beyond what the platform has acknowledged; sealing
    /// waits for the upload to catch up. Only for envelopes uploaded while they are sealed
    /// (every attachment's hash announced), so nothing large is written locally at all.
    Memory(usize),
}

/// The spool: the sealed attachment parts, in order, only ever ciphertext. Readers may follow
/// the writer: a read past what is written waits for more, for the end, or for a failure.
pub(super) struct Spool {
    /// The file, for [`SpoolPlace::Disk`].
    file: Option<File>,
    /// The most unacknowledged bytes held in memory, for [`SpoolPlace::Memory`].
    window: usize,
    state: Mutex<SpoolState>,
    /// Signalled when bytes are written, the spool ends or fails.
    more: Condvar,
    /// Signalled when memory is released.
    room: Condvar,
}

#[derive(Default)]
struct SpoolState {
    written: u64,
    done: bool,
    failed: Option<String>,
    /// Memory mode: bytes from `released` to `written`.
    held: std::collections::VecDeque<u8>,
    released: u64,
}

impl Spool {
    pub(super) fn create(place: &SpoolPlace) -> std::io::Result<Arc<Spool>> {
        let (file, window) = match place {
            SpoolPlace::Disk(dir) => {
                crate::config::create_private_dir(dir)?;
                (Some(tempfile::tempfile_in(dir)?), 0)
            }
            SpoolPlace::Memory(window) => (None, *window),
        };
        Ok(Arc::new(Spool {
            file,
            window,
            state: Mutex::default(),
            more: Condvar::new(),
            room: Condvar::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SpoolState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wake_all(&self) {
        self.more.notify_all();
        self.room.notify_all();
    }

    pub(super) fn finish(&self) {
        self.state().done = true;
        self.wake_all();
    }

    pub(super) fn fail(&self, why: &str) {
        let mut st = self.state();
        if !st.done && st.failed.is_none() {
            st.failed = Some(why.to_string());
        }
        drop(st);
        self.wake_all();
    }

    fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = &self.file {
            // Written at its offset, never at the file's cursor: on Windows a reader's
            // `seek_read` moves the cursor, and a plain write would then land where the
            // reader last read, over sealed bytes (caught by the unit tests under wine).
            let pos = self.state().written;
            let n = write_at(file, buf, pos)?;
            self.state().written += n as u64;
            self.more.notify_all();
            return Ok(n);
        }
        let mut st = self.state();
        while st.held.len() >= self.window && st.failed.is_none() {
            st = self.room.wait(st).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if let Some(why) = &st.failed {
            return Err(std::io::Error::other(why.clone()));
        }
        let n = buf.len().min(self.window - st.held.len());
        st.held.extend(&buf[..n]);
        st.written += n as u64;
        drop(st);
        self.more.notify_all();
        Ok(n)
    }

    /// The window of a memory spool; `None` on disk.
    pub(super) fn memory_window(&self) -> Option<usize> {
        self.file.is_none().then_some(self.window)
    }

    /// Bytes held in memory right now.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.state().held.len()
    }

    /// Forgets (in memory mode) everything before `pos`: the platform has it.
    pub(super) fn release(&self, pos: u64) {
        let mut st = self.state();
        if self.file.is_none() && pos > st.released {
            let n = ((pos - st.released) as usize).min(st.held.len());
            st.held.drain(..n);
            st.released += n as u64;
            drop(st);
            self.room.notify_all();
        }
    }

    /// Reads at `pos`, waiting while the writer has not got there yet.
    pub(super) fn read_at(&self, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
        let mut st = self.state();
        loop {
            if let Some(why) = &st.failed {
                return Err(std::io::Error::other(why.clone()));
            }
            if pos < st.written {
                let n = buf.len().min((st.written - pos) as usize);
                let Some(file) = &self.file else {
                    if pos < st.released {
                        return Err(std::io::Error::other("spool bytes were already released"));
                    }
                    let from = (pos - st.released) as usize;
                    for (dst, src) in buf[..n].iter_mut().zip(st.held.range(from..from + n)) {
                        *dst = *src;
                    }
                    return Ok(n);
                };
                drop(st);
                return read_at(file, &mut buf[..n], pos);
            }
            if st.done {
                return Ok(0);
            }
            st = self.more.wait(st).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Appends sealed bytes to the spool and wakes its readers.
pub(super) struct SpoolWriter(pub(super) Arc<Spool>);

impl std::io::Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
fn write_at(f: &File, buf: &[u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(f, buf, pos)
}

#[cfg(windows)]
fn write_at(f: &File, buf: &[u8], pos: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(f, buf, pos)
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}
