//! The connector's errors, by what a caller does about them: grant a scope, fix the token, try
//! again later, or report a store that broke the protocol.

use std::path::PathBuf;

/// The connector's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while talking to a store or writing its export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token lacks a scope: the message names the one to grant.
    #[error("{what}: access denied: {message} (grant the app this scope, then run again)")]
    AccessDenied {
        /// What was being read or written.
        what: String,
        /// The store's message, which names the scope.
        message: String,
    },
    /// The token was refused as a whole (HTTP 401 or 403).
    #[error(
        "the store refused the access token (HTTP {status}): {message}; check SHOPIFY_ACCESS_TOKEN"
    )]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// The store's message.
        message: String,
    },
    /// The store kept failing (network faults, 5xx, throttling) after every retry.
    #[error("{what}: the store did not answer after {tries} tries: {last}")]
    Unavailable {
        /// What was being asked.
        what: String,
        /// Tries made.
        tries: u32,
        /// The last failure.
        last: String,
    },
    /// A bulk operation failed or expired on every try.
    #[error("exporting {entity}: the bulk operation failed {tries} times (last: {last}); nothing of this run was kept")]
    BulkFailed {
        /// The entity (products, orders, ...).
        entity: &'static str,
        /// Operations started.
        tries: u32,
        /// The last status and error code.
        last: String,
    },
    /// The store answered with something the API does not send: bad JSON, a missing field, an
    /// unsafe file name. Nothing of it was written.
    #[error("{what}: unexpected answer from the store: {message}")]
    Protocol {
        /// What was being read.
        what: String,
        /// What was wrong with it.
        message: String,
    },
    /// The store refused a query or mutation (GraphQL errors or user errors).
    #[error("{what}: the store refused it: {message}")]
    Refused {
        /// What was being asked.
        what: String,
        /// The store's messages.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The repository failed (reading a snapshot for a restore).
    #[error(transparent)]
    Repository(#[from] crate::Error),
    /// The caller asked for something that cannot be done (an output directory that is not an
    /// export, a bad shop name).
    #[error("{0}")]
    InvalidInput(String),
}

impl Error {
    /// A protocol error.
    pub(crate) fn protocol(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Protocol {
            what: what.into(),
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
