//! The export's staging area. A run writes a whole new tree beside the export
//! (`<out>.backstock-staging`), linking what did not change from the previous export, and swaps
//! it in with two renames once it is complete. A run that fails leaves the previous export as it
//! was; a crash between the renames is finished (or undone) by the next run.
//!
//! Invariant: `<out>` is always either the previous complete export or the new complete one,
//! except between the two renames, when `<out>.backstock-old` holds the previous one and the
//! staging tree holds its marker; [`Staging::open`] repairs that state before anything else.

use super::error::{Error, Result};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The folder of the connector's own files inside an export.
pub const STATE_DIR: &str = ".backstock-shopify";

/// The file that marks an export complete; written last.
pub const STATE_FILE: &str = ".backstock-shopify/state.json";

/// The map from the IDs of items as backed up to the IDs restores gave them (a recreated product
/// gets a new one).
pub const IDS_FILE: &str = ".backstock-shopify/ids.json";

/// One JSON line per restore: who, when, which snapshot, which items, and each one's result.
pub const AUDIT_FILE: &str = ".backstock-shopify/audit.jsonl";

/// A new export being written.
pub struct Staging {
    out: PathBuf,
    root: PathBuf,
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = out.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    out.with_file_name(name)
}

fn exists(p: &Path) -> Result<bool> {
    match fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(p, e)),
    }
}

fn remove_tree(p: &Path) -> Result<()> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io(from, e))
}

impl Staging {
    /// Repairs what an interrupted run left, checks that `out` is absent, empty or an export,
    /// and starts an empty staging tree beside it.
    pub fn open(out: &Path) -> Result<Staging> {
        if out.file_name().is_none() {
            return Err(Error::InvalidInput(format!(
                "--out {}: name a folder (not / or ..)",
                out.display()
            )));
        }
        let root = sibling(out, ".backstock-staging");
        let old = sibling(out, ".backstock-old");
        if exists(&old)? {
            if exists(out)? {
                // The swap was done; only the old tree's removal was not.
                remove_tree(&old)?;
            } else if exists(&root.join(STATE_FILE))? {
                rename(&root, out)?;
                remove_tree(&old)?;
            } else {
                rename(&old, out)?;
            }
        }
        remove_tree(&root)?;
        if exists(out)? {
            let is_export = exists(&out.join(STATE_FILE))?;
            let empty = fs::read_dir(out)
                .map_err(|e| Error::io(out, e))?
                .next()
                .is_none();
            if !is_export && !empty {
                return Err(Error::InvalidInput(format!(
                    "--out {} holds files that are not a backstock export (no {STATE_FILE}); \
                     give an empty or new folder, nothing there was changed",
                    out.display()
                )));
            }
        }
        fs::create_dir_all(root.join(STATE_DIR)).map_err(|e| Error::io(&root, e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            root,
        })
    }

    /// The previous export's copy of `rel`, if there is one.
    pub fn previous(&self, rel: &Path) -> PathBuf {
        self.out.join(rel)
    }

    /// The new tree's path of `rel`, its folder made.
    pub fn path(&self, rel: &Path) -> Result<PathBuf> {
        let p = self.root.join(rel);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(p)
    }

    /// Writes `bytes` as `rel` in the new tree.
    pub fn write(&self, rel: &Path, bytes: &[u8]) -> Result<()> {
        let p = self.path(rel)?;
        fs::write(&p, bytes).map_err(|e| Error::io(&p, e))
    }

    /// Takes `rel` from the previous export unchanged: a hard link, or a copy where the file
    /// system has none.
    pub fn keep(&self, rel: &Path) -> Result<()> {
        let from = self.previous(rel);
        let to = self.path(rel)?;
        if fs::hard_link(&from, &to).is_ok() {
            return Ok(());
        }
        fs::copy(&from, &to)
            .map(|_| ())
            .map_err(|e| Error::io(&from, e))
    }

    /// Writes the state file (the completeness marker), flushes the new tree to disk and swaps
    /// it in place of the previous export.
    pub fn commit(self, state: &[u8]) -> Result<()> {
        let marker = self.root.join(STATE_FILE);
        fs::write(&marker, state).map_err(|e| Error::io(&marker, e))?;
        let dir = fs::File::open(&self.root).map_err(|e| Error::io(&self.root, e))?;
        rustix::fs::syncfs(&dir).map_err(|e| Error::io(&self.root, e.into()))?;
        let old = sibling(&self.out, ".backstock-old");
        let had_previous = exists(&self.out)?;
        if had_previous {
            rename(&self.out, &old)?;
        }
        rename(&self.root, &self.out)?;
        if had_previous {
            remove_tree(&old)?;
        }
        if let Some(parent) = self.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = fs::File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// Throws the new tree away (a failed run).
    pub fn abandon(self) -> Result<()> {
        remove_tree(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).unwrap().display().to_string();
                    out.push(format!("{rel}={}", fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_commit_swaps_the_new_tree_in_and_keeps_unchanged_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("export");
        let s = Staging::open(&out).unwrap();
        s.write(Path::new("products/1.json"), b"one").unwrap();
        s.write(Path::new("products/2.json"), b"two").unwrap();
        s.commit(b"{}").unwrap();
        let s = Staging::open(&out).unwrap();
        s.keep(Path::new("products/1.json")).unwrap();
        s.write(Path::new("products/3.json"), b"three").unwrap();
        s.commit(b"{}").unwrap();
        assert_eq!(
            tree(&out),
            [
                ".backstock-shopify/state.json={}",
                "products/1.json=one",
                "products/3.json=three"
            ]
        );
        assert!(!sibling(&out, ".backstock-old").exists());
        assert!(!sibling(&out, ".backstock-staging").exists());
    }

    #[test]
    fn a_failed_run_leaves_the_previous_export_and_the_next_run_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("export");
        let s = Staging::open(&out).unwrap();
        s.write(Path::new("a.json"), b"a").unwrap();
        s.commit(b"{}").unwrap();
        let before = tree(&out);
        let s = Staging::open(&out).unwrap();
        s.write(Path::new("b.json"), b"b").unwrap();
        drop(s); // a crash before the commit
        assert_eq!(tree(&out), before);
        Staging::open(&out).unwrap().abandon().unwrap();
        assert_eq!(tree(&out), before);
        assert!(!sibling(&out, ".backstock-staging").exists());
    }

    #[test]
    fn a_crash_between_the_renames_is_finished_or_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("export");
        let old = sibling(&out, ".backstock-old");
        let staging = sibling(&out, ".backstock-staging");
        // The new tree was complete: the next run finishes the swap.
        fs::create_dir_all(old.join(STATE_DIR)).unwrap();
        fs::write(old.join("x.json"), "old").unwrap();
        fs::create_dir_all(staging.join(STATE_DIR)).unwrap();
        fs::write(staging.join(STATE_FILE), "{}").unwrap();
        fs::write(staging.join("x.json"), "new").unwrap();
        Staging::open(&out).unwrap().abandon().unwrap();
        assert_eq!(fs::read_to_string(out.join("x.json")).unwrap(), "new");
        assert!(!old.exists());
        // The new tree was not complete: the previous export comes back.
        fs::rename(&out, &old).unwrap();
        fs::create_dir_all(&staging).unwrap();
        fs::write(staging.join("x.json"), "partial").unwrap();
        Staging::open(&out).unwrap().abandon().unwrap();
        assert_eq!(fs::read_to_string(out.join("x.json")).unwrap(), "new");
    }

    #[test]
    fn a_folder_that_is_not_an_export_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("mine.txt"), "keep").unwrap();
        let err = Staging::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("not a backstock export"), "{err}");
        assert_eq!(
            fs::read_to_string(tmp.path().join("mine.txt")).unwrap(),
            "keep"
        );
    }
}
