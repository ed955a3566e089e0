//! Include/exclude glob patterns for backup, restore and find, with restic's meaning.
//!
//! A pattern is matched against the whole path, component by component (`*` and `?` stay within
//! one component, `**` crosses any number of them):
//! - a pattern starting with `/` is anchored at the root: `/home/u/.cache` matches only that path;
//! - any other pattern matches the last components of a path, at any depth: `.cache` matches every
//!   entry of that name, `u/.cache` matches `/home/u/.cache` and `/srv/u/.cache`, `*.tmp` every
//!   name ending in `.tmp`.
//!
//! A trailing `/` is ignored. Backup matches against the absolute path on disk; restore and find
//! against the path inside the snapshot.

use crate::error::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone)]
pub struct PathMatcher {
    set: GlobSet,
    empty: bool,
}

impl PathMatcher {
    /// A matcher for `patterns`, case-sensitive.
    #[cfg(test)]
    pub fn new(patterns: &[String]) -> Result<Self> {
        Self::with_insensitive(patterns, &[])
    }

    /// A matcher for `patterns` (case-sensitive) and `insensitive` (ignoring case, as restic's
    /// `--iexclude` and `--iinclude`).
    pub fn with_insensitive(patterns: &[String], insensitive: &[String]) -> Result<Self> {
        let mut set = GlobSetBuilder::new();
        for (p, ci) in patterns
            .iter()
            .map(|p| (p, false))
            .chain(insensitive.iter().map(|p| (p, true)))
        {
            let trimmed = p.trim_end_matches('/');
            let anchored = trimmed.strip_prefix('/');
            let glob = match anchored {
                Some(a) => a.trim_start_matches('/').to_string(),
                None => format!("**/{trimmed}"),
            };
            let glob = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .case_insensitive(ci)
                .build()
                .with_context(|| format!("invalid pattern {p:?}"))?;
            set.add(glob);
        }
        Ok(PathMatcher {
            set: set.build().context("building patterns")?,
            empty: patterns.is_empty() && insensitive.is_empty(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Does `path` ('/'-separated; a leading '/' is ignored) match? Only the path itself is
    /// tested, not its parents.
    pub fn matches(&self, path: &str) -> bool {
        if self.empty {
            return false;
        }
        self.set.is_match(path.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &[&str]) -> PathMatcher {
        PathMatcher::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    /// The cases `fidelity`'s restic comparison checks through both binaries, and a few more.
    #[test]
    fn anchored_and_floating_patterns_as_in_restic() {
        let x = m(&["*.tmp", "store/cache", "/theme/**/*.css"]);
        assert!(x.matches("a/b/c.tmp"));
        assert!(x.matches("store/cache"));
        assert!(x.matches("other/store/cache"));
        assert!(!x.matches("store/cache/inner"));
        assert!(!x.matches("mystore/cache"));
        assert!(x.matches("theme/assets/a.css"));
        assert!(x.matches("/theme/a.css"));
        assert!(!x.matches("shop/theme/assets/a.css"));
        assert!(!x.matches("store/products/1.json"));
        let y = m(&["/tmp/rx/src/foo", "*/foo", "cache/"]);
        assert!(y.matches("/tmp/rx/src/foo"));
        assert!(!y.matches("/tmp/rx/src/foo/bar"));
        assert!(y.matches("/a/foo"));
        assert!(!y.matches("foo"));
        assert!(y.matches("x/cache"));
        assert!(!y.matches("x/Cache"));
        assert!(!m(&[]).matches("anything"));
        assert!(PathMatcher::new(&["[".to_string()]).is_err());
    }

    #[test]
    fn insensitive_patterns_ignore_case() {
        let x = PathMatcher::with_insensitive(&["exact".into()], &["*.JPG".into(), "Cache".into()])
            .unwrap();
        assert!(x.matches("media/a.jpg") && x.matches("media/A.Jpg"));
        assert!(x.matches("home/u/CACHE"));
        assert!(x.matches("exact") && !x.matches("EXACT"));
    }
}
