//! Comparing trees: the metadata and content of every path under a directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What must survive a backup and restore: type, size, content, permission bits, owner (the tests'
/// own files, or any when run as root), mtime, link target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// File length; 0 for other types.
    pub size: u64,
    /// BLAKE3 of a file's content.
    pub hash: Option<String>,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub link: Option<Vec<u8>>,
}

/// The metadata of one path (not following symlinks).
pub fn entry(path: &Path) -> Entry {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ft = m.file_type();
    let kind = if ft.is_file() {
        Kind::File
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Other
    };
    Entry {
        kind,
        size: if kind == Kind::File { m.len() } else { 0 },
        hash: (kind == Kind::File).then(|| file_hash(path)),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        link: (kind == Kind::Symlink)
            .then(|| fs::read_link(path).unwrap().as_os_str().as_bytes().to_vec()),
    }
}

/// Hex BLAKE3 of a file's content.
pub fn file_hash(path: &Path) -> String {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    blake3::Hasher::new()
        .update_reader(f)
        .unwrap()
        .finalize()
        .to_hex()
        .to_string()
}

/// Every path under `root` (root itself as the empty path) with its entry, by relative path bytes.
pub fn scan_tree(root: &Path) -> BTreeMap<Vec<u8>, Entry> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<Vec<u8>, Entry>) {
        let p = root.join(rel);
        let e = entry(&p);
        let is_dir = e.kind == Kind::Dir;
        out.insert(rel.as_os_str().as_bytes().to_vec(), e);
        if is_dir {
            for d in fs::read_dir(&p).unwrap() {
                walk(root, &rel.join(d.unwrap().file_name()), out);
            }
        }
    }
    walk(root, Path::new(""), &mut out);
    out
}

/// Asserts that `actual` holds exactly the tree under `expected`: the same paths, types, sizes,
/// contents, permission bits, owners, mtimes (seconds and nanoseconds, directories included) and link
/// targets.
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let a = scan_tree(expected);
    let b = scan_tree(actual);
    let mut problems = Vec::new();
    for (path, ea) in &a {
        let shown = String::from_utf8_lossy(path);
        match b.get(path) {
            None => problems.push(format!("missing: {shown:?}")),
            Some(eb) if eb != ea => problems.push(format!(
                "differs: {shown:?}\n  expected {ea:?}\n  restored {eb:?}"
            )),
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        problems.push(format!("unexpected: {:?}", String::from_utf8_lossy(path)));
    }
    assert!(
        problems.is_empty(),
        "{} differs from {} ({} problems):\n{}",
        actual.display(),
        expected.display(),
        problems.len(),
        problems.join("\n")
    );
}

/// Relative paths (lossy UTF-8) of everything under `root`, without the root itself.
pub fn rel_paths(root: &Path) -> BTreeSet<String> {
    scan_tree(root)
        .into_keys()
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

/// The names directly inside `dir`, sorted.
pub fn top_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every regular file under `dir`, recursively (empty if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(files_under(&e.path()));
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    out
}
