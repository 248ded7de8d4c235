//! Bulk imports of products (DESIGN.md section 12): an NDJSON or CSV file of products,
//! uploaded whole (kept in the data folder, made durable, before the job is answered),
//! run as a job on a thread of its own that reads it row by row, turns each row into a
//! product (or the problems that keep it from being one) and hands them to the commerce
//! actor in batches of `IMPORT_BATCH_ROWS`: each batch is one log record that applies its
//! good rows and keeps its refusals and the last row it covers (`ImportMark`), so a batch
//! is applied whole or not at all, and once. A job a stop or crash cut short resumes at
//! start after the last row its records reached; a finished job's file is removed (its
//! header stays, for a retry under its key). Reads of the catalogue never wait for it
//! (they read the published commerce).

mod rows;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mercato_actors::catalog::ImportBatch;
use mercato_actors::CommerceHandle;
use serde::{Deserialize, Serialize};

pub use rows::{check_header, Rows};

/// The largest file an import takes.
pub const IMPORT_BYTES_MAX: u64 = 1 << 30;
/// Rows per batch (one log record each). A batch is decided on the job's thread and only
/// recorded and installed by the commerce actor, whose thread the warehouses and carts
/// share; 1,000 rows, decided on that thread, held it about 8 ms and made add-to-cart's
/// p99 10 times its idle one during an import, 100 rows halved the rate
/// (benches/RESULTS.md).
pub const IMPORT_BATCH_ROWS: usize = 250;
/// Row bytes per batch at most: a batch is one log record, whose payload is bounded
/// (16 MiB); 250 rows of the largest a row may be (`IMPORT_ROW_BYTES_MAX`) would not fit.
pub const IMPORT_BATCH_BYTES: usize = 2 << 20;
/// Batches installed and not yet known durable at most: the log's group commit then makes
/// several durable in one sync, rather than one sync for each while the job waits.
pub const IMPORT_BATCHES_IN_FLIGHT: usize = 4;

/// The format of an import's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// One product per line, as `PUT …/products/{sku}` takes it, with its `sku`.
    Ndjson,
    /// A header row naming the columns, then one product per row.
    Csv,
}

/// What a job is, as kept beside its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobHeader {
    pub job: String,
    pub commerce: String,
    /// Who uploaded it (the key's principal) and, for a merchant key, its merchant.
    pub by: String,
    pub merchant: Option<String>,
    pub format: ImportFormat,
    pub bytes: u64,
    /// SHA-256 of the file, in hex: the same key with another file is refused.
    pub digest: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A job as the node runs it.
pub struct Job {
    pub header: JobHeader,
    /// Rows read so far (the last row number handed to the commerce).
    pub rows_read: AtomicU64,
    pub finished: AtomicBool,
    /// Why it stopped short (a restart resumes it).
    pub failure: Mutex<Option<String>>,
    /// The file, for a node without a data folder.
    data: Option<Arc<Vec<u8>>>,
}

/// A file kept in memory, read without a copy.
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The node's import jobs, and the folder their files are kept in (none in memory).
#[derive(Clone, Default)]
pub struct Imports {
    folder: Option<PathBuf>,
    jobs: Arc<Mutex<HashMap<String, Arc<Job>>>>,
    /// Jobs whose file is arriving: a second upload under the same key waits for none of
    /// them, it is refused (409) while the first is in flight.
    uploading: Arc<Mutex<HashSet<String>>>,
    /// The nice value of a job's thread (`--background-nice`).
    nice: i32,
}

impl Imports {
    /// Jobs kept in `folder`, which is made if missing; uploads a stop cut short (their
    /// partial files) are removed.
    pub fn in_folder(folder: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&folder)?;
        for entry in std::fs::read_dir(&folder)?.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".part") || name.ends_with(".job.tmp") {
                if let Err(error) = std::fs::remove_file(entry.path()) {
                    tracing::warn!(%error, file = %name, "an unfinished upload could not be removed");
                }
            }
        }
        Ok(Self { folder: Some(folder), jobs: Arc::default(), uploading: Arc::default(), nice: 0 })
    }

    /// An upload of `job`'s file, or none while another upload of it is in flight.
    pub fn upload(&self, job: &str) -> Option<Upload> {
        if !self.uploading.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(job.to_owned()) {
            return None;
        }
        let partial = self.folder.as_ref().map(|folder| {
            let mut random = [0u8; 8];
            let _ = getrandom::fill(&mut random);
            let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
            folder.join(format!("{job}.{suffix}.part"))
        });
        Some(Upload { imports: self.clone(), job: job.to_owned(), partial })
    }

    /// Jobs run at the nice value `nice` (0 to 19).
    pub fn yielding(mut self, nice: i32) -> Self {
        self.nice = nice;
        self
    }

    pub fn get(&self, job: &str) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(job).cloned()
    }

    fn data_path(&self, job: &str) -> Option<PathBuf> {
        self.folder.as_ref().map(|folder| folder.join(format!("{job}.data")))
    }

    fn header_path(&self, job: &str) -> Option<PathBuf> {
        self.folder.as_ref().map(|folder| folder.join(format!("{job}.job.json")))
    }

    /// Keeps a job whose file arrived whole (the upload's partial file on disk, or `data`
    /// in memory): the file and then its header are made durable before the job starts.
    pub fn keep(&self, header: JobHeader, upload: &Upload, data: Option<Vec<u8>>) -> std::io::Result<Arc<Job>> {
        if let (Some(folder), Some(partial), Some(path), Some(header_path)) =
            (self.folder.as_ref(), upload.partial.as_ref(), self.data_path(&header.job), self.header_path(&header.job))
        {
            std::fs::File::open(partial)?.sync_all()?;
            std::fs::rename(partial, &path)?;
            let temporary = folder.join(format!("{}.job.tmp", header.job));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&serde_json::to_vec(&header).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &header_path)?;
            std::fs::File::open(folder)?.sync_all()?;
        }
        let job = Arc::new(Job {
            header,
            rows_read: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            failure: Mutex::new(None),
            data: data.map(Arc::new),
        });
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(job.header.job.clone(), Arc::clone(&job));
        Ok(job)
    }

    /// Runs `job` on a thread of its own, from the row after `after`.
    pub fn start(&self, job: Arc<Job>, commerce: CommerceHandle, after: u64) {
        let path = self.data_path(&job.header.job);
        let name = format!("mercato-import-{}", job.header.job);
        let nice = self.nice;
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            crate::priority::lower_priority(nice);
            run(&job, &commerce, path, after)
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "an import job could not start; it resumes at the next start");
        }
    }

    /// The jobs kept in the folder, to resume at start: each header that reads.
    pub fn kept(&self) -> Vec<JobHeader> {
        let Some(folder) = &self.folder else { return Vec::new() };
        let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".job.json"))
            .filter_map(|entry| {
                let bytes = std::fs::read(entry.path()).ok()?;
                serde_json::from_slice::<JobHeader>(&bytes)
                    .map_err(|error| tracing::warn!(%error, path = %entry.path().display(), "an import job's header does not read"))
                    .ok()
            })
            .collect()
    }

    /// Registers a job found at start and resumes it unless its records say it is done.
    pub async fn resume(&self, header: JobHeader, commerce: CommerceHandle) {
        let progress = commerce.import_status(&header.job).await.ok().flatten();
        let job = Arc::new(Job {
            rows_read: AtomicU64::new(progress.as_ref().map_or(0, |p| p.through_row)),
            finished: AtomicBool::new(progress.as_ref().is_some_and(|p| p.done)),
            failure: Mutex::new(None),
            data: None,
            header,
        });
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(job.header.job.clone(), Arc::clone(&job));
        if job.finished.load(Ordering::Acquire) {
            // A stop between its last batch and the file's removal.
            forget_file(self.data_path(&job.header.job).as_deref());
        } else {
            let after = job.rows_read.load(Ordering::Acquire);
            tracing::info!(job = %job.header.job, after, "an import job resumes");
            self.start(job, commerce, after);
        }
    }
}

/// A job's file arriving: while it lives, another upload of the job is refused; its
/// partial file (none in memory) is removed when it ends unless kept as the job's file.
pub struct Upload {
    imports: Imports,
    job: String,
    pub partial: Option<PathBuf>,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(partial) = &self.partial {
            // Gone already once kept (renamed to the job's file).
            let _ = std::fs::remove_file(partial);
        }
        self.imports.uploading.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.job);
    }
}

/// Reads the job's file and hands its rows to the commerce, a batch at a time, each
/// decided once the one before is installed, with up to `IMPORT_BATCHES_IN_FLIGHT` not yet
/// durable; the job's progress counts a batch once durable, and it is finished once the
/// last is. Rows up to `after` were applied before (a resumed job).
fn run(job: &Job, commerce: &CommerceHandle, path: Option<PathBuf>, after: u64) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(job, format!("no runtime: {error}")),
    };
    let reader: Box<dyn std::io::Read> = match (&job.data, &path) {
        (Some(data), _) => Box::new(std::io::Cursor::new(Shared(Arc::clone(data)))),
        (None, Some(path)) => match std::fs::File::open(path) {
            Ok(file) => Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
            Err(error) => return fail(job, format!("its file {}: {error}", path.display())),
        },
        (None, None) => return fail(job, "its file is gone".into()),
    };
    let mut rows = match Rows::new(job.header.format, reader) {
        Ok(rows) => rows,
        Err(error) => return fail(job, error),
    };
    let mut pending: std::collections::VecDeque<mercato_actors::catalog::PendingImport> =
        std::collections::VecDeque::new();
    loop {
        let (batch, through_row, done) = rows.next_batch(IMPORT_BATCH_ROWS, IMPORT_BATCH_BYTES, after);
        if batch.is_empty() && !done {
            continue;
        }
        let message = ImportBatch {
            job: job.header.job.clone(),
            by: job.header.by.clone(),
            merchant: job.header.merchant.clone(),
            rows: batch,
            through_row: through_row.max(after),
            done,
            prepared: None,
        };
        match runtime.block_on(commerce.import_batch(message)) {
            Ok(installed) => pending.push_back(installed),
            Err(error) => return fail(job, error.to_string()),
        }
        while pending.len() >= IMPORT_BATCHES_IN_FLIGHT || (done && !pending.is_empty()) {
            let Some(oldest) = pending.pop_front() else { break };
            match runtime.block_on(oldest) {
                Ok(progress) => job.rows_read.store(progress.through_row, Ordering::Release),
                Err(error) => return fail(job, error.to_string()),
            }
        }
        if done {
            job.finished.store(true, Ordering::Release);
            forget_file(path.as_deref());
            return;
        }
    }
}

/// Removes a finished job's file: its rows are all in the log, and its header (kept)
/// answers a retry under its key.
fn forget_file(path: Option<&std::path::Path>) {
    if let Some(path) = path.filter(|path| path.exists()) {
        if let Err(error) = std::fs::remove_file(path) {
            tracing::warn!(%error, path = %path.display(), "a finished import's file could not be removed");
        }
    }
}

fn fail(job: &Job, reason: String) {
    tracing::warn!(job = %job.header.job, %reason, "an import job stopped; it resumes at the next start");
    *job.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
}

/// A job's id: from the key's scope and its `Idempotency-Key` (so the same key names the
/// same job), or random.
pub fn job_id(scope: &str, key: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let seed = match key {
        Some(key) => format!("{scope}\u{1f}{key}"),
        None => {
            let mut random = [0u8; 16];
            let _ = getrandom::fill(&mut random);
            format!("{random:?}")
        }
    };
    let digest = Sha256::digest(seed.as_bytes());
    format!("imp-{}", digest.iter().take(10).map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a second upload of a job is refused while the first is in flight (two
    // uploads under one key wrote the same partial file), each upload's partial file is
    // its own and removed when it ends unkept, and partial files a stop left are removed
    // when the folder is opened again.
    #[test]
    fn one_upload_at_a_time_and_no_partial_file_left() {
        let folder = std::env::temp_dir().join(format!("mercato-uploads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let imports = Imports::in_folder(folder.clone()).expect("a folder");
        let first = imports.upload("imp-1").expect("the first upload");
        assert!(imports.upload("imp-1").is_none(), "a second upload of the job waits for none");
        let other = imports.upload("imp-2").expect("another job's upload");
        let partial = first.partial.clone().expect("a partial file");
        std::fs::write(&partial, b"sku\n").expect("written");
        assert_ne!(Some(&partial), other.partial.as_ref());
        drop(first);
        assert!(!partial.exists(), "an upload not kept leaves no file");
        let again = imports.upload("imp-1").expect("free again");
        let left = again.partial.clone().expect("a partial file");
        std::fs::write(&left, b"sku\n").expect("written");
        std::mem::forget(again);
        Imports::in_folder(folder.clone()).expect("opened again");
        assert!(!left.exists(), "a partial file a stop left is removed at start");
        let _ = std::fs::remove_dir_all(&folder);
    }
}
