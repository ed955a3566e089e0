//! Choosing a backend from a repository location (`-r/--repo`): a path is a local directory,
//! `rest:http[s]://...` a REST server, `rclone:REMOTE:PATH` a remote rclone serves over
//! REST. Nothing above this module knows which backend it talks to.

use super::rclone::RcloneBackend;
use super::rest::{RestBackend, RestOptions, RestUrl, RestUrlError};
use super::retry::{RetryPolicy, Retrying};
use super::{Backend, BackendError, LocalBackend};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

/// Schemes other tools use for remote repositories that backstock does not speak yet; a location
/// starting with one of them and `:` is refused rather than taken for a local directory.
const NOT_YET: &[&str] = &["s3", "sftp", "b2", "azure", "gs", "swift", "opendal"];

/// Settings for remote backends.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Timeouts of a REST backend (also the one talking to rclone).
    pub rest: RestOptions,
    /// How transient failures of a remote backend are retried.
    pub retry: RetryPolicy,
    /// The rclone program `rclone:` locations start (default `rclone`, found on `PATH`).
    pub rclone_program: String,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            rest: RestOptions::default(),
            retry: RetryPolicy::default(),
            rclone_program: "rclone".into(),
        }
    }
}

/// Why a repository location could not be opened. No message holds a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// A `rest:` location that is not a usable URL.
    #[error(transparent)]
    Rest(#[from] RestUrlError),
    /// `rclone:` without a remote.
    #[error("rclone: locations name an rclone remote and path: rclone:REMOTE:PATH")]
    Rclone,
    /// A scheme backstock does not support yet.
    #[error(
        "{scheme}: repositories are not supported yet; use a directory path or \
         rest:http[s]://[USER:PASS@]HOST:PORT/PATH/ or rclone:REMOTE:PATH (to use a directory whose name starts with \
         \"{scheme}:\", write ./{scheme}:...)"
    )]
    Unsupported {
        /// The scheme, such as `s3`.
        scheme: String,
    },
    /// The backend could not be set up.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The backend for a repository location, with default [`RemoteOptions`].
pub fn open_location(location: &OsStr) -> Result<Arc<dyn Backend>, LocationError> {
    open_location_with(location, &RemoteOptions::default())
}

/// The backend for a repository location: a path is a [`LocalBackend`]; `rest:http[s]://...` a
/// [`RestBackend`] and `rclone:REMOTE:PATH` an [`RcloneBackend`], each wrapped in [`Retrying`]; a
/// scheme of another tool's remote repositories (`s3:`, `sftp:`, ...) is refused.
pub fn open_location_with(
    location: &OsStr,
    opts: &RemoteOptions,
) -> Result<Arc<dyn Backend>, LocationError> {
    if let Some(s) = location.to_str() {
        if let Some(url) = s.strip_prefix("rest:") {
            let rest = RestBackend::new(RestUrl::parse(url)?, opts.rest.clone())?;
            return Ok(Arc::new(Retrying::new(rest, opts.retry.clone())));
        }
        if let Some(remote) = s.strip_prefix("rclone:") {
            if remote.is_empty() {
                return Err(LocationError::Rclone);
            }
            let rclone = RcloneBackend::start(&opts.rclone_program, remote, opts.rest.clone())?;
            return Ok(Arc::new(Retrying::new(rclone, opts.retry.clone())));
        }
        if let Some((scheme, _)) = s.split_once(':') {
            if NOT_YET.contains(&scheme) {
                return Err(LocationError::Unsupported {
                    scheme: scheme.to_string(),
                });
            }
        }
    }
    Ok(Arc::new(LocalBackend::new(PathBuf::from(location))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(s: &str) -> Result<Arc<dyn Backend>, LocationError> {
        open_location(OsStr::new(s))
    }

    #[test]
    fn paths_are_local() {
        for p in ["/srv/repo", "repo", "./s3:bucket", "C:repo", "with:colon"] {
            assert_eq!(open(p).unwrap().location(), p);
        }
    }

    #[test]
    fn rest_locations_are_retried_rest_backends() {
        let b = open("rest:http://user:hunter2@127.0.0.1:8000/r").unwrap();
        assert_eq!(b.location(), "rest:http://user@127.0.0.1:8000/r/");
        let e = open("rest:ftp://user:hunter2@host/").err().unwrap();
        assert!(matches!(e, LocationError::Rest(_)));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn other_schemes_are_not_supported_yet() {
        for (s, scheme) in [
            ("s3:https://key:secret@host/bucket", "s3"),
            ("sftp:user@host:/srv", "sftp"),
        ] {
            let e = open(s).err().unwrap().to_string();
            assert!(
                e.starts_with(&format!("{scheme}: repositories are not supported yet")),
                "{e}"
            );
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
