//! Parsing a `rest:` location: the server's base URL and the credentials taken out of it.

use reqwest::Url;
use zeroize::Zeroizing;

/// A parsed `rest:http[s]://[USER[:PASS]@]HOST[:PORT]/PATH/` location.
#[derive(Clone)]
pub struct RestUrl {
    /// The base URL without credentials; its path ends in `/`.
    pub(crate) base: Url,
    /// The user name for HTTP basic authentication, percent-decoded.
    pub(crate) user: Option<String>,
    /// The password for HTTP basic authentication, percent-decoded.
    pub(crate) password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for RestUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestUrl")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a `rest:` location could not be used. The message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("invalid REST repository location {shown}: {reason}")]
pub struct RestUrlError {
    shown: String,
    reason: String,
}

impl RestUrl {
    /// Parses the text after `rest:`.
    pub fn parse(s: &str) -> Result<RestUrl, RestUrlError> {
        let fail = |reason: &str| RestUrlError {
            shown: format!("rest:{}", redact(s)),
            reason: reason.to_string(),
        };
        let mut url = Url::parse(s).map_err(|e| fail(&format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail("the URL must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(fail("the URL has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("the URL may not have a query (?) or fragment (#)"));
        }
        let user = (!url.username().is_empty())
            .then(|| percent_decode(url.username()))
            .transpose()
            .map_err(|()| fail("the user name is not valid percent-encoded UTF-8"))?;
        let password = url
            .password()
            .map(|p| percent_decode(p).map(Zeroizing::new))
            .transpose()
            .map_err(|()| fail("the password is not valid percent-encoded UTF-8"))?;
        if password.is_some() && user.is_none() {
            return Err(fail("a password needs a user name"));
        }
        // Neither can fail on an http(s) URL with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(RestUrl {
            base: url,
            user,
            password,
        })
    }

    /// The location for messages: the URL with the user name but never the password.
    pub fn shown(&self) -> String {
        match &self.user {
            Some(user) => {
                let mut u = self.base.clone();
                let _ = u.set_username(user);
                format!("rest:{u}")
            }
            None => format!("rest:{}", self.base),
        }
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

/// Decodes `%XX` escapes; `Err` on a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let u = RestUrl::parse("http://alice:s%40cret@127.0.0.1:8000/repo").unwrap();
        assert_eq!(u.base.as_str(), "http://127.0.0.1:8000/repo/");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref().map(String::as_str), Some("s@cret"));
        assert_eq!(u.shown(), "rest:http://alice@127.0.0.1:8000/repo/");
        assert!(!format!("{u:?}").contains("cret"));
    }

    #[test]
    fn without_credentials_or_path() {
        let u = RestUrl::parse("https://backup.example:443").unwrap();
        assert_eq!(u.base.as_str(), "https://backup.example/");
        assert!(u.user.is_none() && u.password.is_none());
        assert_eq!(u.shown(), "rest:https://backup.example/");
        let u = RestUrl::parse("http://host:1/a/b/").unwrap();
        assert_eq!(u.base.as_str(), "http://host:1/a/b/");
    }

    #[test]
    fn bad_locations_are_refused_without_the_password() {
        for bad in [
            "ftp://u:hunter2@host/",
            "http://u:hunter2@host/?x=1",
            "http://u:hunter2@host/#f",
            "http://u:hunter2%ff@host/",
            "http://:hunter2@host/",
            "no scheme at all",
            "http://u:hunter2@:80/",
        ] {
            let e = RestUrl::parse(bad).expect_err(bad).to_string();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
            assert!(
                e.starts_with("invalid REST repository location rest:"),
                "{e}"
            );
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("http://u:p@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact("http://h/x@y"), "http://h/x@y");
        assert_eq!(redact("nothing"), "nothing");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2F").unwrap(), "a b/");
        assert!(percent_decode("a%2").is_err());
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%ff").is_err());
    }
}
