//! The file operations the log needs, behind a trait so tests can run the log on a
//! simulated disk ([`crate::sim::SimStorage`]) that loses unsynced bytes on a crash and
//! fails chosen operations. [`OsStorage`] is the real one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written from its start, each write after the last.
pub trait AppendFile: Send {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes every byte written so far durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Makes the file `len` bytes long with zeros after what was written, durably, and
    /// leaves the write position where it was: later writes overwrite the zeros. A sync
    /// of bytes written over space already allocated and written need not commit a new
    /// size or new blocks, so it costs far less than one of a file that grows. An error
    /// stops the log (the sync may have covered earlier writes). Doing nothing is correct
    /// too: the file then grows as it is written.
    fn preallocate(&mut self, len: u64) -> io::Result<()>;
}

/// A folder of files. Names are plain file names inside `dir`.
pub trait Storage: Send + Sync + 'static {
    /// Creates the folder (and its parents) if missing.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Creates a new empty file; fails if it exists.
    fn create(&self, dir: &Path, name: &str) -> io::Result<Box<dyn AppendFile>>;
    /// The names of the files in `dir`, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn read(&self, dir: &Path, name: &str) -> io::Result<Vec<u8>>;
    /// Up to `len` bytes of a file from `offset` (fewer where the file ends first).
    fn read_range(&self, dir: &Path, name: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let whole = self.read(dir, name)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(whole.len());
        Ok(whole[start..start.saturating_add(len).min(whole.len())].to_vec())
    }
    /// A file's length in bytes.
    fn size(&self, dir: &Path, name: &str) -> io::Result<u64> {
        Ok(self.read(dir, name)?.len() as u64)
    }
    /// Renames a file over another (atomic); durable once the folder is synced.
    fn rename(&self, dir: &Path, from: &str, to: &str) -> io::Result<()>;
    /// Cuts a file to `len` bytes and makes the cut durable.
    fn truncate(&self, dir: &Path, name: &str, len: u64) -> io::Result<()>;
    fn remove(&self, dir: &Path, name: &str) -> io::Result<()>;
    /// Makes the folder's entries (files created, renamed or removed) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The machine's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsStorage;

struct OsFile {
    file: File,
    /// Where the next write goes: the end of what was written.
    position: u64,
    /// The file's length once zeros were written past `position`.
    allocated: u64,
    /// Set when the write position could not be restored or zeroing failed: every later
    /// write and sync fails.
    lost: bool,
}

/// Zeros are written in pieces of this size.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl OsFile {
    fn new(file: File) -> Self {
        Self { file, position: 0, allocated: 0, lost: false }
    }

    fn check(&self) -> io::Result<()> {
        if self.lost {
            Err(io::Error::other("an earlier write, sync or preallocation of this file failed"))
        } else {
            Ok(())
        }
    }

    fn write_zeros(&mut self, from: u64, len: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(from))?;
        let mut left = len - from;
        while left > 0 {
            let piece = usize::try_from(left).unwrap_or(usize::MAX).min(ZEROS.len());
            self.file.write_all(&ZEROS[..piece])?;
            left -= piece as u64;
        }
        self.file.sync_data()
    }
}

impl AppendFile for OsFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.check()?;
        let written = self.file.write_all(bytes);
        if written.is_err() {
            // How much of it went in is unknown: nothing more goes to this file.
            self.lost = true;
        }
        written?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.check()?;
        self.file.sync_data()
    }

    fn preallocate(&mut self, len: u64) -> io::Result<()> {
        self.check()?;
        let from = self.allocated.max(self.position);
        if len <= from {
            return Ok(());
        }
        let zeroed = self.write_zeros(from, len);
        let restored = self.file.seek(SeekFrom::Start(self.position));
        // The zeros' sync also syncs records written before them (async mode): after a
        // failed one, those may be gone though a later sync succeeds, so nothing more goes
        // to this file or counts as synced in it.
        if zeroed.is_err() || restored.is_err() {
            self.lost = true;
        }
        zeroed?;
        restored?;
        self.allocated = len;
        Ok(())
    }
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

impl Storage for OsStorage {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn create(&self, dir: &Path, name: &str) -> io::Result<Box<dyn AppendFile>> {
        // Not in append mode: writes go where the position says, over preallocated zeros.
        let file = OpenOptions::new().write(true).create_new(true).open(path(dir, name))?;
        Ok(Box::new(OsFile::new(file)))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
        }
        Ok(names)
    }

    fn read(&self, dir: &Path, name: &str) -> io::Result<Vec<u8>> {
        fs::read(path(dir, name))
    }

    fn read_range(&self, dir: &Path, name: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = fs::File::open(path(dir, name))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::with_capacity(len.min(16 * 1024 * 1024));
        file.take(len as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    fn size(&self, dir: &Path, name: &str) -> io::Result<u64> {
        Ok(fs::metadata(path(dir, name))?.len())
    }

    fn rename(&self, dir: &Path, from: &str, to: &str) -> io::Result<()> {
        fs::rename(path(dir, from), path(dir, to))
    }

    fn truncate(&self, dir: &Path, name: &str, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path(dir, name))?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn remove(&self, dir: &Path, name: &str) -> io::Result<()> {
        fs::remove_file(path(dir, name))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// The machine's file system, read only: reads pass through, and every change (a torn
/// tail cut off, a segment rewritten) is dropped, so a reader such as an audit replay sees
/// the log as recovery would and leaves the folder exactly as it found it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOnlyStorage;

/// A file whose writes go nowhere.
struct Discarded;

impl AppendFile for Discarded {
    fn write_all(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn preallocate(&mut self, _: u64) -> io::Result<()> {
        Ok(())
    }
}

impl Storage for ReadOnlyStorage {
    fn create_dir(&self, _: &Path) -> io::Result<()> {
        Ok(())
    }

    fn create(&self, _: &Path, _: &str) -> io::Result<Box<dyn AppendFile>> {
        Ok(Box::new(Discarded))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        OsStorage.list(dir)
    }

    fn read(&self, dir: &Path, name: &str) -> io::Result<Vec<u8>> {
        OsStorage.read(dir, name)
    }

    fn read_range(&self, dir: &Path, name: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        OsStorage.read_range(dir, name, offset, len)
    }

    fn size(&self, dir: &Path, name: &str) -> io::Result<u64> {
        OsStorage.size(dir, name)
    }

    fn rename(&self, _: &Path, _: &str, _: &str) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&self, _: &Path, _: &str, _: u64) -> io::Result<()> {
        Ok(())
    }

    fn remove(&self, _: &Path, _: &str) -> io::Result<()> {
        Ok(())
    }

    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Ok(())
    }
}
