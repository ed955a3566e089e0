//! Raw repository files: searching bytes, copying directories, damaging a byte.

use super::chmod;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The first needle found in `hay` (needles may have different lengths), with its offset.
pub fn find_any<'n>(hay: &[u8], needles: &'n [Vec<u8>]) -> Option<(&'n [u8], usize)> {
    let mut by_len: BTreeMap<usize, HashSet<&[u8]>> = BTreeMap::new();
    for n in needles {
        assert!(!n.is_empty());
        by_len.entry(n.len()).or_default().insert(n);
    }
    for (len, set) in by_len {
        if let Some((off, w)) = hay.windows(len).enumerate().find(|(_, w)| set.contains(w)) {
            let n = needles.iter().find(|n| n.as_slice() == w).unwrap();
            return Some((n, off));
        }
    }
    None
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Flips one byte of a file in place.
pub fn flip_byte(path: &Path, offset: u64) {
    chmod(path, 0o644);
    let mut b = fs::read(path).unwrap();
    b[offset as usize] ^= 0x5A;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(&b).unwrap();
}

/// Whether the tests run as root (where permission bits do not stop reads).
pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
