//! The file operations the log needs, behind a trait so tests can run the log on a
//! simulated disk ([`crate::sim::SimStorage`]) that loses unsynced bytes on a crash and
//! fails chosen operations. [`OsStorage`] is the real one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file open for appending.
pub trait AppendFile: Send {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes every byte written so far durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
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

struct OsFile(File);

impl AppendFile for OsFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
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
        let file = OpenOptions::new().append(true).create_new(true).open(path(dir, name))?;
        Ok(Box::new(OsFile(file)))
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
