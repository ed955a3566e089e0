//! Parsing an `s3:` location and reading the credentials and region from the environment.

use reqwest::Url;

/// How a bucket is addressed in request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum S3UrlStyle {
    /// `https://HOST/BUCKET/KEY`: works with every S3-compatible server and with IP addresses
    /// (the default).
    #[default]
    Path,
    /// `https://BUCKET.HOST/KEY`: what AWS recommends; needs a bucket name that is a valid host
    /// name label and a host name (not an IP address).
    VirtualHost,
}

/// A parsed `s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]` location.
#[derive(Debug, Clone)]
pub struct S3Url {
    /// `http[s]://HOST[:PORT]/`, without credentials, path, query or fragment.
    pub(crate) endpoint: Url,
    /// The bucket's name.
    pub(crate) bucket: String,
    /// The key prefix of the repository's objects: empty, or segments joined by `/`, without a
    /// leading or trailing `/`.
    pub(crate) prefix: String,
}

/// Why an `s3:` location or its settings could not be used. The message never holds a secret.
#[derive(Debug, thiserror::Error)]
#[error("invalid S3 repository location {shown}: {reason}")]
pub struct S3UrlError {
    shown: String,
    reason: String,
}

impl S3UrlError {
    pub(crate) fn new(shown: impl Into<String>, reason: impl Into<String>) -> Self {
        S3UrlError {
            shown: shown.into(),
            reason: reason.into(),
        }
    }
}

impl S3Url {
    /// Parses the text after `s3:`.
    pub fn parse(s: &str) -> Result<S3Url, S3UrlError> {
        let fail = |reason: &str| S3UrlError::new(format!("s3:{}", redact(s)), reason);
        let url = Url::parse(s).map_err(|e| {
            fail(&format!(
                "not a URL ({e}); the form is s3:https://HOST[:PORT]/BUCKET[/PREFIX]"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail("the URL must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(fail("the URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail(
                "credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("the URL may not have a query (?) or fragment (#)"));
        }
        let path = url.path().trim_matches('/');
        let mut segments = path.split('/');
        let bucket = segments.next().unwrap_or_default().to_string();
        if bucket.is_empty() {
            return Err(fail("the URL names no bucket (s3:https://HOST/BUCKET)"));
        }
        let bucket_ok = bucket.len() <= 255
            && bucket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !bucket_ok {
            return Err(fail(
                "the bucket name may hold only letters, digits, '.', '-' and '_'",
            ));
        }
        let prefix: Vec<&str> = segments.collect();
        for seg in &prefix {
            if seg.is_empty() || *seg == "." || *seg == ".." {
                return Err(fail("the prefix may not have empty, '.' or '..' segments"));
            }
            if seg.contains('%') {
                return Err(fail("the prefix may not hold percent escapes"));
            }
        }
        let mut endpoint = url.clone();
        endpoint.set_path("/");
        Ok(S3Url {
            endpoint,
            bucket,
            prefix: prefix.join("/"),
        })
    }

    /// The key of an object of the repository: `PREFIX/rel`, or `rel` without a prefix.
    pub(crate) fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// The location for messages: `s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]`. It holds no
    /// credentials (they are never in the location).
    pub fn shown(&self) -> String {
        let mut s = format!("s3:{}{}", self.endpoint, self.bucket);
        if !self.prefix.is_empty() {
            s.push('/');
            s.push_str(&self.prefix);
        }
        s
    }
}

/// Credentials and region, as the AWS tools read them from the environment.
#[derive(Clone)]
pub struct S3Credentials {
    pub(crate) inner: rusty_s3::Credentials,
    pub(crate) region: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("key", &self.inner.key())
            .field("secret", &"***")
            .field("token", &self.inner.token().map(|_| "***"))
            .field("region", &self.region)
            .finish()
    }
}

impl S3Credentials {
    /// Credentials from an access key ID and secret, with an optional session token, for
    /// `region`.
    pub fn new(key: &str, secret: &str, token: Option<&str>, region: &str) -> Self {
        let inner = match token {
            Some(t) => rusty_s3::Credentials::new_with_token(key, secret, t),
            None => rusty_s3::Credentials::new(key, secret),
        };
        S3Credentials {
            inner,
            region: region.to_string(),
        }
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (optional) and the
    /// region from `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`, read with `var`
    /// (empty values count as unset). `shown` is the location, for the error.
    pub fn from_vars(
        shown: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, S3UrlError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(S3UrlError::new(
                shown,
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_string());
        let token = var("AWS_SESSION_TOKEN");
        Ok(S3Credentials::new(
            key.trim(),
            &secret,
            token.as_deref(),
            region.trim(),
        ))
    }

    /// [`Self::from_vars`] with the process's environment.
    pub fn from_env(shown: &str) -> Result<Self, S3UrlError> {
        Self::from_vars(shown, |name| std::env::var(name).ok())
    }
}

/// The location with anything between `://` and the last `@` of the authority replaced by
/// `***@`, for messages about a location that did not parse.
fn redact(s: &str) -> String {
    let Some(start) = s.find("://").map(|i| i + 3) else {
        return s.to_string();
    };
    let rest = &s[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &s[..start], &rest[at + 1..]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_prefix() {
        let u = S3Url::parse("https://s3.example.com/bucket").unwrap();
        assert_eq!(u.endpoint.as_str(), "https://s3.example.com/");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("bucket", ""));
        assert_eq!(u.key("config"), "config");
        assert_eq!(u.shown(), "s3:https://s3.example.com/bucket");

        let u = S3Url::parse("http://127.0.0.1:9000/b.1/a/b/").unwrap();
        assert_eq!(u.endpoint.as_str(), "http://127.0.0.1:9000/");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("b.1", "a/b"));
        assert_eq!(u.key("data/ab"), "a/b/data/ab");
        assert_eq!(u.shown(), "s3:http://127.0.0.1:9000/b.1/a/b");
    }

    #[test]
    fn bad_locations_are_refused_without_secrets() {
        for bad in [
            "ftp://host/bucket",
            "https://host",
            "https://host/",
            "https://key:hunter2@host/bucket",
            "https://host/bucket?x=hunter2",
            "https://host/bucket#f",
            "https://host/bu cket",
            "https://host/bucket//p",
            "https://host/bucket/a%2Fb",
            "host/bucket",
        ] {
            let e = S3Url::parse(bad).expect_err(bad).to_string();
            assert!(e.starts_with("invalid S3 repository location s3:"), "{e}");
            assert!(!e.contains("hunter2@"), "{bad}: {e}");
        }
    }

    #[test]
    fn credentials_and_region_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = S3Credentials::from_vars(
            "s3:x",
            vars(&[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]),
        )
        .unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.inner.token(), None);
        assert!(!format!("{c:?}").contains("SK"));
        let c = S3Credentials::from_vars(
            "s3:x",
            vars(&[
                ("AWS_ACCESS_KEY_ID", "AK"),
                ("AWS_SECRET_ACCESS_KEY", "SK"),
                ("AWS_SESSION_TOKEN", "TOK"),
                ("AWS_DEFAULT_REGION", "eu-west-1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert!(!format!("{c:?}").contains("TOK"));
        let c = S3Credentials::from_vars(
            "s3:x",
            vars(&[
                ("AWS_ACCESS_KEY_ID", "AK"),
                ("AWS_SECRET_ACCESS_KEY", "SK"),
                ("AWS_REGION", "eu-central-1"),
                ("AWS_DEFAULT_REGION", "eu-west-1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.region, "eu-central-1");
        for missing in [
            &[("AWS_ACCESS_KEY_ID", "AK")][..],
            &[("AWS_SECRET_ACCESS_KEY", "SK")][..],
            &[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", " ")][..],
        ] {
            let e = S3Credentials::from_vars("s3:x", vars(missing))
                .unwrap_err()
                .to_string();
            assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
            assert!(!e.contains("SK"), "{e}");
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("http://u:p@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact("http://h/x@y"), "http://h/x@y");
    }
}
