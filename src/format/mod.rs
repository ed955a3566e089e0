//! Byte-level encoders and decoders for every on-disk structure (docs/design.md).
//!
//! Decoders take untrusted bytes and return [`FormatError`], never panic.

pub mod blob_entry;
pub mod config;
pub mod envelope;
#[cfg(test)]
mod golden_tests;
pub mod index;
pub mod keyfile;
#[cfg(test)]
pub(crate) mod mutation;
pub mod pack;
pub(crate) mod reader;
pub mod snapshot;
pub mod tree;

/// Error from decoding repository bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    /// The input ended early.
    #[error("truncated: needed {needed} more bytes for {what}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes missing beyond the end of the input.
        needed: usize,
    },
    /// The first bytes are not the structure's magic: the input is something else.
    #[error("bad magic for {0}")]
    BadMagic(&'static str),
    /// A version this build cannot read.
    #[error("{what} version {found} is not supported (written by a newer backstock?)")]
    UnsupportedVersion {
        /// The structure being read.
        what: &'static str,
        /// The version byte found (clamped to 255 for wider fields).
        found: u8,
    },
    /// A value outside what the format allows; the message says which.
    #[error("invalid {0}")]
    Invalid(String),
}

/// The result of a decoder.
pub type FormatResult<T> = Result<T, FormatError>;

/// An ID field that is not an ID is invalid data, worded as before IDs had their own error.
impl From<crate::ids::ParseIdError> for FormatError {
    fn from(e: crate::ids::ParseIdError) -> Self {
        FormatError::Invalid(format!("{:?} is not a 64-digit hex {}", e.input, e.what))
    }
}
