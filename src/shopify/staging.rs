//! The export's staging area. A run writes the files that are new or changed into
//! `<out>.backstock-staging/new/`, and records every file the new export holds in a manifest.
//! Files that did not change are not touched at all: they keep their inode and times, so the
//! next backup takes them from its parent snapshot without reading them, and the snapshot's trees
//! for unchanged folders stay the same blobs.
//!
//! Once the run has everything, it writes a `ready` marker and applies the staging area: each new
//! file is renamed into the export, then every file of the export missing from the manifest is
//! removed, then the state file is written. Until the marker, the export is as the previous run
//! left it; a run that fails throws the staging area away. A crash while applying is finished by
//! the next run, which applies a ready staging area before anything else (applying twice does
//! the same as once).
//!
//! ```text
//! <out>.backstock-staging/
//!   new/<relative path>      new and changed files, laid out as in the export
//!   manifest                 every relative path of the new export, each ended by a NUL byte
//!   ready                    the state file's bytes; written last
//! ```

use super::error::{Error, Result};
use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The folder of the connector's own files inside an export.
pub const STATE_DIR: &str = ".backstock-shopify";

/// The file that marks a folder as an export and says what the last run fetched.
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
    manifest: RefCell<io::BufWriter<fs::File>>,
    /// The paths listed so far, by a 128-bit hash: 16 bytes a file, whatever its path's length.
    listed: RefCell<HashSet<u128>>,
}

/// A path's key in the sets of listed paths (the first 128 bits of its BLAKE3 hash: no two of
/// an export's paths meet by chance).
fn key(rel: &Path) -> u128 {
    let h = blake3::hash(rel.as_os_str().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.as_bytes()[..16]);
    u128::from_le_bytes(b)
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

fn make_parent(p: &Path) -> Result<()> {
    match p.parent() {
        Some(dir) => fs::create_dir_all(dir).map_err(|e| Error::io(dir, e)),
        None => Ok(()),
    }
}

fn sync_fs(dir: &Path) -> Result<()> {
    let d = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    rustix::fs::syncfs(&d).map_err(|e| Error::io(dir, e.into()))
}

/// Calls `f` with every file under `dir/rel`, as a path relative to `dir`, one folder at a time
/// (nothing is collected: an export of a million files is walked in the memory of one path).
fn for_each_file(dir: &Path, rel: &Path, f: &mut dyn FnMut(&Path) -> Result<()>) -> Result<()> {
    let here = dir.join(rel);
    let entries = match fs::read_dir(&here) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&here, e)),
    };
    for e in entries {
        let e = e.map_err(|e| Error::io(&here, e))?;
        let kind = e.file_type().map_err(|err| Error::io(e.path(), err))?;
        let child = rel.join(e.file_name());
        if kind.is_dir() {
            for_each_file(dir, &child, f)?;
        } else {
            f(&child)?;
        }
    }
    Ok(())
}

impl Staging {
    /// Finishes what an interrupted run left, checks that `out` is absent, empty or an export,
    /// and starts an empty staging area beside it.
    pub fn open(out: &Path) -> Result<Staging> {
        if out.file_name().is_none() {
            return Err(Error::InvalidInput(format!(
                "--out {}: name a folder (not / or ..)",
                out.display()
            )));
        }
        let root = sibling(out, ".backstock-staging");
        if exists(&root.join("ready"))? {
            apply(out, &root)?;
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
        fs::create_dir_all(root.join("new")).map_err(|e| Error::io(&root, e))?;
        let manifest = root.join("manifest");
        let file = fs::File::create(&manifest).map_err(|e| Error::io(&manifest, e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            root,
            manifest: RefCell::new(io::BufWriter::new(file)),
            listed: RefCell::new(HashSet::new()),
        })
    }

    /// Records that the new export holds `rel`.
    fn list(&self, rel: &Path) -> Result<()> {
        if self.listed.borrow_mut().insert(key(rel)) {
            let mut m = self.manifest.borrow_mut();
            m.write_all(rel.as_os_str().as_bytes())
                .and_then(|()| m.write_all(&[0]))
                .map_err(|e| Error::io(self.root.join("manifest"), e))?;
        }
        Ok(())
    }

    /// Whether this run has put `rel` in the new export.
    pub fn listed(&self, rel: &Path) -> bool {
        self.listed.borrow().contains(&key(rel))
    }

    /// The previous export's copy of `rel`, if there is one.
    pub fn previous(&self, rel: &Path) -> PathBuf {
        self.out.join(rel)
    }

    /// Where a new version of `rel` is written (its folder made), for writers that stream.
    pub fn path(&self, rel: &Path) -> Result<PathBuf> {
        self.list(rel)?;
        let p = self.root.join("new").join(rel);
        make_parent(&p)?;
        Ok(p)
    }

    /// The bytes of `rel` as this run has it so far: its new version, else the previous one.
    pub fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>> {
        for p in [self.root.join("new").join(rel), self.previous(rel)] {
            match fs::read(&p) {
                Ok(b) => return Ok(Some(b)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        Ok(None)
    }

    /// Puts `bytes` as `rel` in the new export: left as it is when the previous export has the
    /// same bytes there, staged otherwise.
    pub fn write(&self, rel: &Path, bytes: &[u8]) -> Result<()> {
        let staged = self.root.join("new").join(rel);
        let prev = self.previous(rel);
        let same = match fs::metadata(&prev) {
            Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
                fs::read(&prev).map_err(|e| Error::io(&prev, e))? == bytes
            }
            _ => false,
        };
        if same {
            // An earlier version staged by this run (before a join) is dropped.
            match fs::remove_file(&staged) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&staged, e)),
            }
            return self.list(rel);
        }
        let p = self.path(rel)?;
        fs::write(&p, bytes).map_err(|e| Error::io(&p, e))
    }

    /// Keeps `rel` from the previous export as it is.
    pub fn keep(&self, rel: &Path) -> Result<()> {
        let prev = self.previous(rel);
        if !prev.is_file() {
            return Err(Error::io(&prev, io::ErrorKind::NotFound.into()));
        }
        self.list(rel)
    }

    /// Marks the staging area ready (with the state file's bytes), flushes it to disk and applies
    /// it to the export.
    pub fn commit(self, state: &[u8]) -> Result<()> {
        self.list(Path::new(STATE_FILE))?;
        {
            let mut m = self.manifest.borrow_mut();
            m.flush()
                .and_then(|()| m.get_ref().sync_all())
                .map_err(|e| Error::io(self.root.join("manifest"), e))?;
        }
        sync_fs(&self.root)?;
        let ready = self.root.join("ready");
        fs::write(&ready, state).map_err(|e| Error::io(&ready, e))?;
        fs::File::open(&ready)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&ready, e))?;
        apply(&self.out, &self.root)?;
        remove_tree(&self.root)
    }

    /// Throws the staging area away (a failed run).
    pub fn abandon(self) -> Result<()> {
        remove_tree(&self.root)
    }
}

/// Applies a ready staging area to the export: new files renamed in, files the manifest does not
/// list removed (the connector's ID map and audit log excepted), the state file written last.
fn apply(out: &Path, root: &Path) -> Result<()> {
    let manifest = root.join("manifest");
    let file = fs::File::open(&manifest).map_err(|e| Error::io(&manifest, e))?;
    let mut listed = HashSet::new();
    for entry in io::BufRead::split(io::BufReader::new(file), 0) {
        let entry = entry.map_err(|e| Error::io(&manifest, e))?;
        if !entry.is_empty() {
            listed.insert(key(Path::new(std::ffi::OsStr::from_bytes(&entry))));
        }
    }
    let new = root.join("new");
    for_each_file(&new, Path::new(""), &mut |rel| {
        let to = out.join(rel);
        make_parent(&to)?;
        fs::rename(new.join(rel), &to).map_err(|e| Error::io(&to, e))
    })?;
    let own = [
        Path::new(IDS_FILE),
        Path::new(AUDIT_FILE),
        Path::new(STATE_FILE),
    ];
    for_each_file(out, Path::new(""), &mut |rel| {
        if listed.contains(&key(rel)) || own.contains(&rel) {
            return Ok(());
        }
        let p = out.join(rel);
        fs::remove_file(&p).map_err(|e| Error::io(&p, e))
    })?;
    remove_empty_dirs(out, out)?;
    let ready = root.join("ready");
    let state = fs::read(&ready).map_err(|e| Error::io(&ready, e))?;
    let to = out.join(STATE_FILE);
    make_parent(&to)?;
    let tmp = to.with_extension("json.tmp");
    fs::write(&tmp, state).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, &to).map_err(|e| Error::io(&to, e))?;
    sync_fs(out)
}

/// Removes the empty folders under `dir` (not `top` itself).
fn remove_empty_dirs(top: &Path, dir: &Path) -> Result<bool> {
    let mut empty = true;
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let is_dir = e
            .file_type()
            .map_err(|err| Error::io(e.path(), err))?
            .is_dir();
        if !(is_dir && remove_empty_dirs(top, &e.path())?) {
            empty = false;
        }
    }
    if empty && dir != top {
        fs::remove_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    Ok(empty)
}

#[cfg(test)]
#[path = "staging_tests.rs"]
mod tests;
