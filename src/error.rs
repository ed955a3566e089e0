//! The engine's error: a kind a caller can act on, the message of the layer that failed, and the
//! error it wraps. Every public function of the library returns [`Result`]; the command line turns
//! kinds into exit codes and prints the chain (`Display` is the outermost message, `source()` walks
//! inwards, as with any `std::error::Error`).
//!
//! Lower layers keep their own typed errors (`backend::BackendError`, `format::FormatError`,
//! `crypto::CryptoError`, `ids::ParseIdError`); converting one into [`Error`] keeps it as the source
//! and derives the kind from it.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, in the terms a caller decides by (retry, ask for another password, repair,
/// exit code). Kinds survive added context: `err.context("...")` keeps `err`'s kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No repository at the location (no config and no other repository file).
    NoRepository,
    /// No key file opens with the password.
    WrongPassword,
    /// The repository is damaged in a way no command can work around (a config missing beside
    /// other repository files, no decodable key file).
    Damaged,
    /// Another process holds a conflicting lock.
    Locked,
    /// This process's own lock lapsed or was removed while it worked; nothing more was written.
    LockLost,
    /// A caller's argument is invalid (a bad snapshot ID, an unknown option value, a bad path).
    InvalidInput,
    /// A named thing does not exist (a snapshot, a path inside a snapshot, a key).
    NotFound,
    /// Stored data failed verification or decoding (a damaged pack, index or tree).
    Corrupt,
    /// The storage failed in a way that may pass (a network fault, a throttled request).
    StorageTransient,
    /// The storage failed in a way retrying will not change (permission denied, no space).
    Storage,
    /// A local file system operation failed (backup sources, restore targets, the cache).
    Io,
    /// The storage refuses this operation to this client: deleting on a server in append-only
    /// mode, a missing permission. Nothing retries it; another place or credentials must run it.
    Refused,
    /// Data is in an archive storage class (S3 Glacier, Deep Archive) and cannot be read until
    /// its restore is done; the command can be run again once it is
    /// ([`crate::repository::archive::ThawPending`] in the chain lists what is pending).
    Archived,
    /// The storage cannot do what the repository asks of it: keep files under retention
    /// (object lock) on a store without it, or in an S3 bucket without object lock enabled.
    Unsupported,
    /// Anything else.
    Other,
}

/// The engine's error. See the module documentation.
pub struct Error {
    kind: ErrorKind,
    repr: Repr,
}

enum Repr {
    /// A message of this layer, optionally wrapping the error it was caused by.
    Message(String, Option<Box<dyn StdError + Send + Sync + 'static>>),
    /// A lower layer's error, shown as itself.
    Wrapped(Box<dyn StdError + Send + Sync + 'static>),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message and no cause.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            repr: Repr::Message(message.into(), None),
        }
    }

    /// Wraps a lower layer's error under `kind`; it is displayed as itself.
    pub fn wrap(kind: ErrorKind, source: impl StdError + Send + Sync + 'static) -> Self {
        Error {
            kind,
            repr: Repr::Wrapped(Box::new(source)),
        }
    }

    /// What went wrong, for a caller to decide by.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This error with `message` in front; the kind stays.
    pub fn context(self, message: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            repr: Repr::Message(message.to_string(), Some(Box::new(self))),
        }
    }

    /// This error under another kind (a storage `NotFound` that means the repository is damaged).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The first error of type `E` in the chain, this one's wrapped error included.
    pub fn find<E: StdError + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn StdError + 'static)> = Some(self);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            if let Some(ours) = e.downcast_ref::<Error>() {
                if let Repr::Wrapped(inner) = &ours.repr {
                    if let Some(found) = inner.downcast_ref::<E>() {
                        return Some(found);
                    }
                }
            }
            next = e.source();
        }
        None
    }
}

/// `{}` shows this layer's message; `{:#}` adds every cause after `: `.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Message(m, _) => f.write_str(m)?,
            Repr::Wrapped(e) => fmt::Display::fmt(e, f)?,
        }
        if f.alternate() {
            let mut next = self.source();
            while let Some(e) = next {
                write!(f, ": {e}")?;
                next = e.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:#}", self.kind, self)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.repr {
            Repr::Message(_, s) => s.as_deref().map(|e| e as &(dyn StdError + 'static)),
            Repr::Wrapped(e) => e.source(),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::wrap(ErrorKind::Io, e)
    }
}

impl From<crate::format::FormatError> for Error {
    fn from(e: crate::format::FormatError) -> Self {
        Error::wrap(ErrorKind::Corrupt, e)
    }
}

impl From<crate::crypto::CryptoError> for Error {
    fn from(e: crate::crypto::CryptoError) -> Self {
        // Only opening finds corrupt data; a failure to seal is not about stored data.
        let kind = match e {
            crate::crypto::CryptoError::SealFailed(_) => ErrorKind::Other,
            _ => ErrorKind::Corrupt,
        };
        Error::wrap(kind, e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::wrap(ErrorKind::Corrupt, e)
    }
}

// --- From impls for the lower layers (backend, ids, compress, crypto, format) ---

impl From<crate::backend::BackendError> for Error {
    /// A missing file is `NotFound`, a transient failure `StorageTransient`, a refused entry (a
    /// file no repository holds there) `Corrupt`, a bad file name `InvalidInput`, an operation the
    /// store denies `Refused`, the rest `Storage`.
    fn from(e: crate::backend::BackendError) -> Self {
        use crate::backend::BackendErrorKind as B;
        let kind = match e.kind() {
            B::NotFound => ErrorKind::NotFound,
            B::Transient => ErrorKind::StorageTransient,
            B::Refused => ErrorKind::Corrupt,
            B::InvalidName => ErrorKind::InvalidInput,
            B::Denied => ErrorKind::Refused,
            B::Archived => ErrorKind::Archived,
            B::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Storage,
        };
        Error::wrap(kind, e)
    }
}

impl From<crate::ids::ParseIdError> for Error {
    fn from(e: crate::ids::ParseIdError) -> Self {
        Error::wrap(ErrorKind::InvalidInput, e)
    }
}

impl From<crate::compress::DecompressError> for Error {
    fn from(e: crate::compress::DecompressError) -> Self {
        Error::wrap(ErrorKind::Corrupt, e)
    }
}

impl From<crate::crypto::kdf::KdfError> for Error {
    /// Parameters out of bounds come from a caller or a key file; either way not the store.
    fn from(e: crate::crypto::kdf::KdfError) -> Self {
        Error::wrap(ErrorKind::InvalidInput, e)
    }
}

/// The local cache's database errors are local I/O failures.
macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::wrap(ErrorKind::Io, e)
            }
        }
    )*};
}
redb_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<crate::format::keyfile::CreateError> for Error {
    fn from(e: crate::format::keyfile::CreateError) -> Self {
        match e {
            crate::format::keyfile::CreateError::Kdf(e) => e.into(),
            crate::format::keyfile::CreateError::Seal(e) => Error::wrap(ErrorKind::Other, e),
        }
    }
}

impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Self {
        Error::wrap(ErrorKind::Io, e)
    }
}

impl From<globset::Error> for Error {
    fn from(e: globset::Error) -> Self {
        Error::wrap(ErrorKind::InvalidInput, e)
    }
}

// --- end of the lower layers' From impls ---

/// Adds context to a failed result, keeping the kind.
pub trait Context<T> {
    /// On failure, puts `message` in front of the error.
    fn context(self, message: impl fmt::Display) -> Result<T>;
    /// On failure, puts the message `f` builds in front of the error.
    fn with_context<M: fmt::Display>(self, f: impl FnOnce() -> M) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, message: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(message))
    }
    fn with_context<M: fmt::Display>(self, f: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

/// Builds an [`Error`]: `err!(Kind, "format", args...)`.
macro_rules! err {
    ($kind:ident, $($arg:tt)+) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)+))
    };
}

/// Returns an [`Error`] early: `bail!(Kind, "format", args...)`.
macro_rules! bail {
    ($kind:ident, $($arg:tt)+) => {
        return Err($crate::error::err!($kind, $($arg)+).into())
    };
}

// Crate-private: the library's own shorthand, reached as `crate::error::{bail, err}`.
pub(crate) use {bail, err};

#[cfg(test)]
mod tests {
    use super::*;

    fn failing_read() -> Result<()> {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        Err(io).context("reading packs/ab")
    }

    #[test]
    fn context_keeps_the_kind_and_the_chain() {
        let e = failing_read().context("check").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.to_string(), "check");
        let chain: Vec<String> = std::iter::successors(e.source(), |c| (*c).source())
            .map(|c| c.to_string())
            .collect();
        assert_eq!(chain, ["reading packs/ab", "permission denied"]);
        assert_eq!(
            format!("{e:#}"),
            "check: reading packs/ab: permission denied"
        );
        let io = e.find::<std::io::Error>().map(|io| io.kind());
        assert_eq!(io, Some(std::io::ErrorKind::PermissionDenied));
    }

    #[test]
    fn macros_set_the_kind() {
        fn f(n: u32) -> Result<u32> {
            if n >= 10 {
                bail!(InvalidInput, "{n} is too big");
            }
            if n == 3 {
                bail!(NotFound, "no {n}");
            }
            Ok(n)
        }
        assert_eq!(f(12).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(f(3).unwrap_err().to_string(), "no 3");
        assert_eq!(f(4).ok(), Some(4));
    }
}
