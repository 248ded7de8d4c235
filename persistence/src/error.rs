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
    /// A whole file written in another format version than this build reads: refused
    /// rather than misread.
    #[error(
        "{file} was written in format version {found}; this build reads version {reads}: start the node with \
         the build that wrote it"
    )]
    Format { file: String, found: u8, reads: u8 },
}
