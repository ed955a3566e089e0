//! What a backup leaves out: excluded paths (restic's pattern meaning, see `pathmatch`), files
//! over a size, directories holding a marker file (`--exclude-if-present`, `--exclude-caches`),
//! the contents of other file systems (`--one-file-system`), and always the contents of kernel
//! file systems (`/proc`, `/sys` and the like) met below a backed-up path.

use super::meta::Meta;
use super::BackupOptions;
use crate::error::{bail, Result};
use crate::pathmatch::PathMatcher;
use rustix::fs::{Mode, OFlags};
use std::collections::HashSet;
use std::io::Read;
use std::os::fd::BorrowedFd;

/// The marker of a cache directory (<https://bford.info/cachedir/>): a `CACHEDIR.TAG` file that
/// starts with this line.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55";

/// Kernel file systems (`statfs` magic numbers): their files describe the running system, are
/// made up as they are read, and restoring them means nothing. A backup of `/` records their
/// mount points, empty.
const KERNEL_FILE_SYSTEMS: [(u64, &str); 17] = [
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x1cd1, "devpts"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0x6165_676c, "pstore"),
    (0xcafe_4a11, "bpf"),
    (0x6265_6570, "configfs"),
    (0x6573_5543, "fusectl"),
    (0x1980_0202, "mqueue"),
    (0x4249_4e4d, "binfmt_misc"),
    (0xde5e_81e4, "efivarfs"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x6e73_6673, "nsfs"),
];

/// A marker file: its name and, optionally, how it must start.
struct Marker {
    name: Vec<u8>,
    header: Option<Vec<u8>>,
}

pub(super) struct Filter {
    excludes: PathMatcher,
    markers: Vec<Marker>,
    larger_than: Option<u64>,
    /// With `--one-file-system`: the devices of the given paths.
    devices: Option<HashSet<u64>>,
}

impl Filter {
    /// The filter `opts` asks for; `devices` are the devices of the paths to back up.
    pub fn new(opts: &BackupOptions, devices: HashSet<u64>) -> Result<Filter> {
        let mut markers = Vec::new();
        let caches = opts.exclude_caches.then(|| CACHEDIR_TAG.to_string());
        for spec in opts.exclude_if_present.iter().chain(caches.iter()) {
            let (name, header) = match spec.split_once(':') {
                Some((n, h)) => (n, Some(h.as_bytes().to_vec())),
                None => (spec.as_str(), None),
            };
            if crate::format::tree::check_name(name.as_bytes()).is_err() {
                bail!(
                    InvalidInput,
                    "--exclude-if-present {spec:?}: give a file name (NAME or NAME:HEADER), not a path"
                );
            }
            markers.push(Marker {
                name: name.as_bytes().to_vec(),
                header,
            });
        }
        Ok(Filter {
            excludes: PathMatcher::with_insensitive(&opts.excludes, &opts.iexcludes)?,
            markers,
            larger_than: opts.exclude_larger_than,
            devices: opts.one_file_system.then_some(devices),
        })
    }

    /// Whether the entry at absolute path `abs` is excluded by a pattern.
    pub fn excludes_path(&self, abs: &str) -> bool {
        self.excludes.matches(abs)
    }

    /// Whether a regular file of this size is left out.
    pub fn excludes_size(&self, meta: &Meta) -> bool {
        self.larger_than.is_some_and(|max| meta.size > max)
    }

    /// The markers the open directory `dir` holds, sorted: as in restic, a marked directory is
    /// kept with its markers and nothing else. Empty when it holds none.
    pub fn markers_in(&self, dir: BorrowedFd<'_>) -> Vec<Vec<u8>> {
        let mut found: Vec<Vec<u8>> = self
            .markers
            .iter()
            .filter(|m| has_marker(dir, m))
            .map(|m| m.name.clone())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// Why the walk records the directory `meta` (open as `dir`) without its entries: on another
    /// file system with `--one-file-system`, or a kernel file system's mount point. `None` to go in.
    pub fn stop_at(&self, meta: &Meta, dir: BorrowedFd<'_>, is_target: bool) -> Option<String> {
        if let Some(devs) = &self.devices {
            if !devs.contains(&meta.dev) {
                return Some("another file system (--one-file-system)".into());
            }
        }
        // A path the user named on a kernel file system is backed up as asked.
        if is_target {
            return None;
        }
        let f_type = rustix::fs::fstatfs(dir).ok()?.f_type as u64 & 0xffff_ffff;
        KERNEL_FILE_SYSTEMS
            .iter()
            .find(|(magic, _)| *magic == f_type)
            .map(|(_, name)| format!("a {name} file system (kernel state, never backed up)"))
    }
}

/// Whether `dir` holds the marker file, starting with its header if it has one.
fn has_marker(dir: BorrowedFd<'_>, m: &Marker) -> bool {
    let Some(header) = &m.header else {
        return rustix::fs::statat(
            dir,
            m.name.as_slice(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok();
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::openat(dir, m.name.as_slice(), flags, Mode::empty()) else {
        return false;
    };
    let mut start = Vec::with_capacity(header.len());
    let read = std::fs::File::from(fd)
        .take(header.len() as u64)
        .read_to_end(&mut start);
    read.is_ok() && start == *header
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn markers_with_and_without_a_header() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = |name: &str, files: &[(&str, &str)]| {
            let d = tmp.path().join(name);
            std::fs::create_dir(&d).unwrap();
            for (f, content) in files {
                std::fs::write(d.join(f), content).unwrap();
            }
            std::fs::File::open(d).unwrap()
        };
        let opts = BackupOptions {
            exclude_if_present: vec![".nobackup".into()],
            exclude_caches: true,
            ..Default::default()
        };
        let f = Filter::new(&opts, HashSet::new()).unwrap();
        let tag = "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n";
        let found = |d: std::fs::File| f.markers_in(d.as_fd());
        assert_eq!(
            found(dir("cache", &[("CACHEDIR.TAG", tag), ("x", "")])),
            [b"CACHEDIR.TAG".to_vec()]
        );
        assert!(found(dir("fake", &[("CACHEDIR.TAG", "not a tag")])).is_empty());
        assert_eq!(
            found(dir("marked", &[(".nobackup", "")])),
            [b".nobackup".to_vec()]
        );
        assert!(found(dir("plain", &[("a", "")])).is_empty());
        let bad = BackupOptions {
            exclude_if_present: vec!["a/b".into()],
            ..Default::default()
        };
        assert!(Filter::new(&bad, HashSet::new()).is_err());
    }
}
