//! One error type for the core. Every message names what is wrong.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The bytes are not a model we can read (wrong format, corrupt, truncated).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A recognized format we do not support yet (e.g. ONNX).
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    /// The engine cannot run some ops; each entry names op and node.
    #[error("unsupported ops: {}", .0.join("; "))]
    UnsupportedOps(Vec<String>),
    /// Inputs given to a run do not fit the model.
    #[error("bad input: {0}")]
    BadInput(String),
    /// Something failed while executing a node.
    #[error("node {node} ({op}): {msg}")]
    Exec { node: usize, op: String, msg: String },
    /// A model feature or option that is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Anything else invalid in a request (bad option values, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Stable machine-readable code (used across the wasm boundary).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidModel(_) => "INVALID_MODEL",
            Error::UnsupportedFormat(_) => "UNSUPPORTED_FORMAT",
            Error::UnsupportedOps(_) => "UNSUPPORTED_OPS",
            Error::BadInput(_) => "BAD_INPUT",
            Error::Exec { .. } => "EXEC_ERROR",
            Error::Unsupported(_) => "UNSUPPORTED",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

