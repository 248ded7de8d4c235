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
}
