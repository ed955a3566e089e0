//! Include/exclude glob patterns for backup and restore.
//!
//! A pattern without '/' matches a path's last component (`*.tmp`, `cache`); a pattern with '/' is
//! matched against the whole path (a leading '/' in the pattern is ignored, as paths are relative to the
//! snapshot root). `**` crosses directories.

use crate::error::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone)]
pub struct PathMatcher {
    names: GlobSet,
    paths: GlobSet,
    empty: bool,
}

impl PathMatcher {
    pub fn new(patterns: &[String]) -> Result<Self> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for p in patterns {
            let trimmed = p.trim_start_matches('/').trim_end_matches('/');
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .with_context(|| format!("invalid pattern {p:?}"))?;
            if trimmed.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        Ok(PathMatcher {
            names: names.build().context("building patterns")?,
            paths: paths.build().context("building patterns")?,
            empty: patterns.is_empty(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Does `path` (relative, '/'-separated) match? Only the path itself is tested, not its parents.
    pub fn matches(&self, path: &str) -> bool {
        if self.empty {
            return false;
        }
        let path = path.trim_start_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path);
        self.names.is_match(name) || self.paths.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &[&str]) -> PathMatcher {
        PathMatcher::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn names_and_paths() {
        let x = m(&["*.tmp", "store/cache", "/theme/**/*.css"]);
        assert!(x.matches("a/b/c.tmp"));
        assert!(x.matches("store/cache"));
        assert!(!x.matches("other/store/cache"));
        assert!(x.matches("theme/assets/a.css"));
        assert!(!x.matches("store/products/1.json"));
        assert!(!m(&[]).matches("anything"));
        assert!(PathMatcher::new(&["[".to_string()]).is_err());
    }
}
