//! The storage layer's error: which file, what was being done, and a kind a caller can act on.

use super::FileType;
use std::io;

/// What kind of storage failure an error is, for a caller to decide by (leave a vanished file out,
/// retry, give up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The file (or the directory it belongs in) does not exist.
    NotFound,
    /// A failure that may pass if the operation is tried again (an interrupted call, a timeout, a
    /// store asking the caller to slow down).
    Transient,
    /// A failure retrying will not change: permission denied, no space left, a read-only or failing
    /// disk.
    Permanent,
    /// The store holds something no backstock repository holds there, so it was refused without
    /// being read: a file larger than any valid file of its type, a symlink, FIFO or device, a
    /// range past the end of any valid file. Retrying will not change it either.
    Refused,
    /// The caller named a file no repository can hold (empty, with a `/`, starting with `.`).
    InvalidName,
    /// The store refuses this operation to this client (HTTP 403): a server in append-only mode
    /// refusing a delete or an overwrite, a missing permission. Retrying will not change it.
    Denied,
    /// The file is in an archive class (S3 Glacier, Deep Archive) and cannot be read until a
    /// restore of it is requested and done ([`super::Backend::request_restore`]).
    Archived,
    /// The store cannot do what the repository asks of it: keep files under retention (object
    /// lock) on a store without it, or in an S3 bucket without object lock enabled.
    Unsupported,
}

impl BackendErrorKind {
    /// The kind of a local file-system error. A local disk has no transient failures worth a retry
    /// except the calls that say so themselves: an interrupted call (`EINTR`), "try again"
    /// (`EAGAIN`) and a timeout (`ETIMEDOUT`, from a network file system). Everything else is
    /// permanent, `EIO` (a failing disk: retrying hides damage) and `ENOSPC` included.
    pub fn of_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => BackendErrorKind::NotFound,
            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                BackendErrorKind::Transient
            }
            _ => BackendErrorKind::Permanent,
        }
    }
}

/// A storage failure. `Display` is the message (what was being done, to which file); the I/O error
/// that caused it, if any, is the `source`, so `{:#}` through [`crate::error::Error`] prints
/// `reading /repo/index/ab..: No such file or directory (os error 2)`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    kind: BackendErrorKind,
    file_type: FileType,
    name: Option<String>,
    message: String,
    #[source]
    source: Option<io::Error>,
    retry_after: Option<std::time::Duration>,
}

impl BackendError {
    /// An error about the file `name` of type `file_type` (`None` for a whole directory of them),
    /// with a message and no cause.
    pub fn new(
        kind: BackendErrorKind,
        file_type: FileType,
        name: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        BackendError {
            kind,
            file_type,
            name: name.map(str::to_string),
            message: message.into(),
            source: None,
            retry_after: None,
        }
    }

    /// An error caused by an I/O error; the kind follows it ([`BackendErrorKind::of_io`]).
    pub fn io(
        file_type: FileType,
        name: Option<&str>,
        message: impl Into<String>,
        source: io::Error,
    ) -> Self {
        BackendError {
            kind: BackendErrorKind::of_io(&source),
            source: Some(source),
            ..Self::new(BackendErrorKind::Permanent, file_type, name, message)
        }
    }

    /// This error caused by `source` (an HTTP client's error, say), kept as the `source`.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(io::Error::other(source));
        self
    }

    /// This error with another kind (a store that knows better than the I/O error).
    pub fn with_kind(mut self, kind: BackendErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// This error with the store's hint of how long to wait before trying again (HTTP
    /// `Retry-After`).
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// How long the store asked the caller to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// What a caller can do about the failure: give up, retry, or treat the file as absent.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// The type of the file the error is about.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// The name of the file the error is about; `None` when it is about a whole directory.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == BackendErrorKind::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_kinds() {
        let of = |errno| BackendErrorKind::of_io(&io::Error::from_raw_os_error(errno));
        assert_eq!(of(libc::ENOENT), BackendErrorKind::NotFound);
        assert_eq!(of(libc::EINTR), BackendErrorKind::Transient);
        assert_eq!(of(libc::EAGAIN), BackendErrorKind::Transient);
        assert_eq!(of(libc::ETIMEDOUT), BackendErrorKind::Transient);
        for errno in [libc::ENOSPC, libc::EIO, libc::EACCES, libc::EROFS] {
            assert_eq!(of(errno), BackendErrorKind::Permanent, "{errno}");
        }
    }

    #[test]
    fn the_io_error_is_the_source() {
        let e = BackendError::io(
            FileType::Index,
            Some("ab"),
            "reading /r/index/ab",
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert!(e.is_not_found());
        assert_eq!(e.name(), Some("ab"));
        let e = crate::error::Error::from(e);
        assert_eq!(e.kind(), crate::error::ErrorKind::NotFound);
        assert!(format!("{e:#}").starts_with("reading /r/index/ab: No such file"));
        assert!(e.find::<BackendError>().is_some());
    }
}
