//! Storage errors. A shell maps them to 5xx answers and a log line; recovery decides from
//! the variant whether to truncate a torn tail or refuse to start.

#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Bytes that fail their checksum or framing, at this position of this file.
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption { file: String, offset: u64, reason: String },
    #[error("codec error: {0}")]
    Codec(String),
    /// A whole file written in a format version this build does not read: refused rather
    /// than misread.
    #[error(
        "{file} was written in format version {found}; this build reads versions {oldest} to {newest}: start \
         the node with a build that reads it"
    )]
    Format { file: String, found: u8, oldest: u8, newest: u8 },
}

impl PersistenceError {
    /// A whole file of a format version this build does not read.
    pub fn other_format(file: String, found: u8) -> Self {
        PersistenceError::Format {
            file,
            found,
            oldest: crate::codec::FORMAT_OLDEST,
            newest: crate::codec::FORMAT_VERSION,
        }
    }
}
