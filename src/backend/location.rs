//! Choosing a backend from a repository location (`-r/--repo`): a path is a local directory,
//! `rest:http[s]://...` a REST server, `s3:http[s]://...` an S3 bucket, `rclone:REMOTE:PATH` a
//! remote rclone serves over REST. Nothing above this module knows which backend it talks to.

use super::rclone::RcloneBackend;
use super::rest::{RestBackend, RestOptions, RestUrl, RestUrlError};
use super::retry::{RetryPolicy, Retrying};
use super::s3::{
    S3Backend, S3Credentials, S3Options, S3Url, S3UrlError, S3UrlStyle, UploadChecksum,
};
use super::{Backend, BackendError, Counting, LocalBackend, Throttled};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

/// Schemes other tools use for remote repositories that backstock does not speak yet; a location
/// starting with one of them and `:` is refused rather than taken for a local directory.
const NOT_YET: &[&str] = &["sftp", "b2", "azure", "gs", "swift", "opendal"];

/// Settings for remote backends.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Timeouts of a REST backend (also the one talking to rclone).
    pub rest: RestOptions,
    /// Timeouts and request sizes of an S3 backend.
    pub s3: S3Options,
    /// How transient failures of a remote backend are retried.
    pub retry: RetryPolicy,
    /// The rclone program `rclone:` locations start (default `rclone`, found on `PATH`).
    pub rclone_program: String,
    /// Uploads at most this many bytes per second (any backend; `None`: no limit).
    pub limit_upload: Option<u64>,
    /// Downloads at most this many bytes per second (any backend; `None`: no limit).
    pub limit_download: Option<u64>,
    /// Packs written at once (any backend; `None`: the backend's default,
    /// [`LOCAL_PARALLEL_WRITES`](super::local::LOCAL_PARALLEL_WRITES) or
    /// [`REMOTE_PARALLEL_WRITES`](super::REMOTE_PARALLEL_WRITES)).
    pub connections: Option<usize>,
    /// PEM files of certificate authorities the HTTPS backends trust beside the system's (a
    /// REST server or S3 store whose certificate is signed by an authority of its own).
    pub ca_files: Vec<PathBuf>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            rest: RestOptions::default(),
            s3: S3Options::default(),
            retry: RetryPolicy::default(),
            rclone_program: "rclone".into(),
            limit_upload: None,
            limit_download: None,
            connections: None,
            ca_files: Vec::new(),
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
    /// An `s3:` location that is not a usable URL, or missing credentials.
    #[error(transparent)]
    S3(#[from] S3UrlError),
    /// A certificate file (`ca_files`) that could not be read or holds no certificate.
    #[error("certificate authority file: {0}")]
    Certificate(String),
    /// A scheme backstock does not support yet.
    #[error(
        "{scheme}: repositories are not supported yet; use a directory path, \
         rest:http[s]://[USER:PASS@]HOST:PORT/PATH/, s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] or \
         rclone:REMOTE:PATH (to use a directory whose name starts with \
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
/// [`RestBackend`], `s3:http[s]://...` an [`S3Backend`] and `rclone:REMOTE:PATH` an
/// [`RcloneBackend`], each rate-limited ([`Throttled`]), counted ([`Counting`]) and wrapped in
/// [`Retrying`]; a scheme of another tool's remote repositories
/// (`sftp:`, `b2:`, ...) is refused.
///
/// An S3 backend takes its credentials and region from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and `AWS_REGION` or `AWS_DEFAULT_REGION`
/// ([`S3Credentials::from_env`]), and `BACKSTOCK_S3_URL_STYLE=virtual-host` selects
/// virtual-host-style URLs; see [`s3_options_from_env`] for the rest.
pub fn open_location_with(
    location: &OsStr,
    opts: &RemoteOptions,
) -> Result<Arc<dyn Backend>, LocationError> {
    let mut opts = opts.clone();
    if let Some(n) = opts.connections {
        opts.rest.connections = n;
        opts.s3.connections = n;
    }
    for f in &opts.ca_files {
        let certs = super::tls::load_ca_file(f).map_err(LocationError::Certificate)?;
        opts.rest.root_certificates.extend(certs.iter().cloned());
        opts.s3.root_certificates.extend(certs);
    }
    let opts = &opts;
    if let Some(s) = location.to_str() {
        if let Some(url) = s.strip_prefix("rest:") {
            let rest = RestBackend::new(RestUrl::parse(url)?, opts.rest.clone())?;
            return Ok(remote(rest, opts));
        }
        if let Some(url) = s.strip_prefix("s3:") {
            let url = S3Url::parse(url)?;
            let creds = S3Credentials::from_env(&url.shown())?;
            let s3_opts = s3_options_from_env(&url.shown(), opts.s3.clone(), |name| {
                std::env::var(name).ok()
            })?;
            check_storage_classes(&url.shown(), &s3_opts)?;
            let s3 = S3Backend::new(url, creds, s3_opts)?;
            return Ok(remote(s3, opts));
        }
        if let Some(remote) = s.strip_prefix("rclone:") {
            if remote.is_empty() {
                return Err(LocationError::Rclone);
            }
            let rclone = RcloneBackend::start(&opts.rclone_program, remote, opts.rest.clone())?;
            return Ok(self::remote(rclone, opts));
        }
        if let Some((scheme, _)) = s.split_once(':') {
            if NOT_YET.contains(&scheme) {
                return Err(LocationError::Unsupported {
                    scheme: scheme.to_string(),
                });
            }
        }
    }
    let mut local = LocalBackend::new(PathBuf::from(location));
    if let Some(n) = opts.connections {
        local = local.with_parallel_writes(n);
    }
    if opts.limit_upload.is_none() && opts.limit_download.is_none() {
        return Ok(Arc::new(local));
    }
    Ok(Arc::new(Throttled::new(
        local,
        opts.limit_upload,
        opts.limit_download,
    )))
}

/// A remote backend as every command uses it: held to the rate limits, counted, retried (the
/// limits and the counts inside the retries: a retried request is sent, and paid for, again).
fn remote<B: Backend + 'static>(backend: B, opts: &RemoteOptions) -> Arc<dyn Backend> {
    let limited = Throttled::new(backend, opts.limit_upload, opts.limit_download);
    Arc::new(Retrying::new(Counting(limited), opts.retry.clone()))
}

/// Refuses storage class names that are not a class name, and an archive class for the files
/// every command reads (config, keys, index, snapshots, tree packs).
fn check_storage_classes(shown: &str, opts: &S3Options) -> Result<(), S3UrlError> {
    for (what, class) in [
        ("data", &opts.data_storage_class),
        ("metadata", &opts.metadata_storage_class),
    ] {
        if let Some(c) = class {
            if !super::s3::valid_class(c) {
                return Err(S3UrlError::new(
                    shown,
                    format!(
                        "the {what} storage class {c:?} is not a class name (upper-case letters, \
                         digits and _, such as STANDARD_IA or GLACIER)"
                    ),
                ));
            }
        }
    }
    if let Some(c) = opts
        .metadata_storage_class
        .as_deref()
        .filter(|c| matches!(*c, "GLACIER" | "DEEP_ARCHIVE"))
    {
        return Err(S3UrlError::new(
            shown,
            format!(
                "the metadata storage class cannot be {c}: config, keys, index, snapshots and tree \
                 packs are read by every command and must read at once (use it for data packs: \
                 --s3-storage-class-data)"
            ),
        ));
    }
    Ok(())
}

/// `opts` with the settings from the environment (read with `var`): `BACKSTOCK_S3_URL_STYLE`
/// (`path`, the default, or `virtual-host`), `BACKSTOCK_S3_CHECKSUM` (`crc32`, the default, or
/// `md5`, for stores that ignore CRC32 headers: see [`super::s3::UploadChecksum`]) and, to make tests exercise paging and multipart
/// uploads with little data, `BACKSTOCK_S3_LIST_PAGE_SIZE` (keys per listing page),
/// `BACKSTOCK_S3_MULTIPART_THRESHOLD` and `BACKSTOCK_S3_PART_SIZE` (bytes). `shown` is the
/// location, for errors.
pub fn s3_options_from_env(
    shown: &str,
    mut opts: S3Options,
    var: impl Fn(&str) -> Option<String>,
) -> Result<S3Options, S3UrlError> {
    let number = |name: &str| -> Result<Option<u64>, S3UrlError> {
        match var(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(S3UrlError::new(
                    shown,
                    format!("{name} must be a positive whole number, not {v:?}"),
                )),
            },
        }
    };
    if let Some(style) = var("BACKSTOCK_S3_URL_STYLE") {
        opts.url_style = match style.trim() {
            "path" => S3UrlStyle::Path,
            "virtual-host" => S3UrlStyle::VirtualHost,
            other => {
                return Err(S3UrlError::new(
                    shown,
                    format!("BACKSTOCK_S3_URL_STYLE must be path or virtual-host, not {other:?}"),
                ))
            }
        };
    }
    if let Some(sum) = var("BACKSTOCK_S3_CHECKSUM") {
        opts.checksum = match sum.trim() {
            "crc32" => UploadChecksum::Crc32,
            "md5" => UploadChecksum::Md5,
            other => {
                return Err(S3UrlError::new(
                    shown,
                    format!("BACKSTOCK_S3_CHECKSUM must be crc32 or md5, not {other:?}"),
                ))
            }
        };
    }
    if let Some(n) = number("BACKSTOCK_S3_LIST_PAGE_SIZE")? {
        opts.list_page_size = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = number("BACKSTOCK_S3_MULTIPART_THRESHOLD")? {
        opts.multipart_threshold = n;
    }
    if let Some(n) = number("BACKSTOCK_S3_PART_SIZE")? {
        opts.part_size = n;
    }
    Ok(opts)
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
    fn s3_locations_need_a_valid_url_and_never_show_secrets() {
        // Credentials in the URL are refused (they belong in the environment), and not shown.
        let e = open("s3:https://key:secret@host/bucket").err().unwrap();
        assert!(matches!(e, LocationError::S3(_)), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = open("s3:https://host").err().unwrap().to_string();
        assert!(e.contains("no bucket"), "{e}");
    }

    #[test]
    fn s3_options_from_the_environment() {
        let vars = |pairs: Vec<(&'static str, &'static str)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let o = s3_options_from_env("s3:x", S3Options::default(), vars(vec![])).unwrap();
        assert_eq!(o.url_style, S3UrlStyle::Path);
        assert_eq!(o.list_page_size, 1000);
        assert_eq!(o.checksum, UploadChecksum::Crc32);
        let o = s3_options_from_env(
            "s3:x",
            S3Options::default(),
            vars(vec![
                ("BACKSTOCK_S3_URL_STYLE", "virtual-host"),
                ("BACKSTOCK_S3_LIST_PAGE_SIZE", "3"),
                ("BACKSTOCK_S3_MULTIPART_THRESHOLD", "1048576"),
                ("BACKSTOCK_S3_PART_SIZE", "5242880"),
                ("BACKSTOCK_S3_CHECKSUM", "md5"),
            ]),
        )
        .unwrap();
        assert_eq!(o.url_style, S3UrlStyle::VirtualHost);
        assert_eq!(o.checksum, UploadChecksum::Md5);
        assert_eq!(
            (o.list_page_size, o.multipart_threshold, o.part_size),
            (3, 1 << 20, 5 << 20)
        );
        for bad in [
            ("BACKSTOCK_S3_URL_STYLE", "dns"),
            ("BACKSTOCK_S3_LIST_PAGE_SIZE", "0"),
            ("BACKSTOCK_S3_PART_SIZE", "5M"),
            ("BACKSTOCK_S3_CHECKSUM", "sha256"),
        ] {
            let e = s3_options_from_env("s3:x", S3Options::default(), vars(vec![bad]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(bad.0), "{e}");
        }
    }

    #[test]
    fn storage_classes_are_checked() {
        let with = |data: Option<&str>, meta: Option<&str>| {
            let opts = S3Options {
                data_storage_class: data.map(str::to_string),
                metadata_storage_class: meta.map(str::to_string),
                ..S3Options::default()
            };
            check_storage_classes("s3:x", &opts).map_err(|e| e.to_string())
        };
        assert!(with(Some("DEEP_ARCHIVE"), Some("STANDARD_IA")).is_ok());
        assert!(with(Some("SOME_PROVIDER_COLD"), None).is_ok());
        let e = with(None, Some("GLACIER")).unwrap_err();
        assert!(e.contains("cannot be GLACIER"), "{e}");
        let e = with(Some("glacier"), None).unwrap_err();
        assert!(e.contains("not a class name"), "{e}");
        let e = with(Some("A\r\nX-Evil: 1"), None).unwrap_err();
        assert!(e.contains("not a class name"), "{e}");
    }

    #[test]
    fn other_schemes_are_not_supported_yet() {
        for (s, scheme) in [
            ("sftp:user@host:/srv", "sftp"),
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
