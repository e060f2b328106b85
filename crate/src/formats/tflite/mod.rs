//! The TFLite flatbuffer format (schema version 3).

mod fb;
pub mod options_defs;
pub mod options_schema;
mod read;
mod write;

pub use read::{has_identifier, read};
pub use write::{write, write_with, WriteOptions, EXTERNAL_BUFFERS_THRESHOLD};
