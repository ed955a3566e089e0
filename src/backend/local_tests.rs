//! Tests of the local backend: on the real file system (modes, hostile entries, size caps) and on
//! the simulated one (what survives a power cut).

use super::local::LocalBackend;
use super::sim::SimFs;
use super::vfs::Fs;
use super::{Backend, FileType};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

fn real() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("repo"));
    b.create().unwrap();
    (dir, b)
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

fn err_text(r: super::Result<impl std::fmt::Debug>) -> String {
    format!("{:#}", crate::error::Error::from(r.unwrap_err()))
}

#[test]
fn write_read_list_delete() {
    let (_dir, b) = real();
    let name = "ab".repeat(32);
    b.write(FileType::Pack, &name, b"hello world").unwrap();
    assert_eq!(b.read(FileType::Pack, &name).unwrap(), b"hello world");
    assert_eq!(b.read_range(FileType::Pack, &name, 6, 5).unwrap(), b"world");
    assert!(b.read_range(FileType::Pack, &name, 6, 50).is_err());
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 11)]);
    assert_eq!(b.stat(FileType::Pack, &name).unwrap(), Some(11));
    b.write(FileType::Config, "config", b"c").unwrap();
    assert!(b.create().is_err(), "create over an existing repository");
    b.delete(FileType::Pack, &name).unwrap();
    b.delete(FileType::Pack, &name).unwrap();
    assert_eq!(b.stat(FileType::Pack, &name).unwrap(), None);
    assert!(b.list(FileType::Index).unwrap().is_empty());
    assert!(b.read(FileType::Index, "../x").is_err());
}

#[test]
fn directories_are_0700_and_files_0600() {
    let dir = tempfile::tempdir().unwrap();
    // The root's missing parents are created too, as private as the root.
    let root = dir.path().join("new/parent/repo");
    let b = LocalBackend::new(&root);
    b.create().unwrap();
    for d in ["new", "new/parent", "new/parent/repo"] {
        assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
    }
    for d in [
        "keys",
        "snapshots",
        "index",
        "locks",
        "data",
        "data/00",
        "data/ff",
    ] {
        assert_eq!(mode(&root.join(d)), 0o700, "{d}");
    }
    b.write(FileType::Key, &"1".repeat(64), b"key").unwrap();
    b.write(FileType::Config, "config", b"config").unwrap();
    // Large enough for direct I/O where the file system allows it.
    let big = vec![7u8; crate::direct_io::DIRECT_MIN + 1];
    let pack = "cd".repeat(32);
    b.write(FileType::Pack, &pack, &big).unwrap();
    // A fan-out directory that went missing is recreated, 0700.
    fs::remove_dir(root.join("data/ef")).unwrap();
    b.write(FileType::Pack, &"ef".repeat(32), b"small").unwrap();
    assert_eq!(mode(&root.join("data/ef")), 0o700);
    for f in [
        format!("keys/{}", "1".repeat(64)),
        "config".to_string(),
        format!("data/cd/{pack}"),
        format!("data/ef/{}", "ef".repeat(32)),
    ] {
        assert_eq!(mode(&root.join(&f)), 0o600, "{f}");
    }
    assert_eq!(b.read(FileType::Pack, &pack).unwrap(), big);
}

#[test]
fn symlinks_and_special_files_are_neither_followed_nor_read() {
    let (dir, b) = real();
    let root = b.root().to_path_buf();
    // config -> /dev/zero would be an endless read.
    symlink("/dev/zero", root.join("config")).unwrap();
    let e = err_text(b.read(FileType::Config, "config"));
    assert!(e.contains("config is not a regular file"), "{e}");
    assert!(err_text(b.stat(FileType::Config, "config")).contains("not a regular file"));
    // A symlink to a real file outside the repository: not followed, not listed.
    let outside = dir.path().join("outside");
    fs::write(&outside, b"secret").unwrap();
    let link = "2".repeat(64);
    symlink(&outside, root.join("snapshots").join(&link)).unwrap();
    assert!(b.list(FileType::Snapshot).unwrap().is_empty());
    assert!(err_text(b.read(FileType::Snapshot, &link)).contains("not a regular file"));
    // A symlinked fan-out directory: its packs are not listed or read.
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let pack = "ab".repeat(32);
    fs::write(elsewhere.join(&pack), b"pack").unwrap();
    fs::remove_dir(root.join("data/ab")).unwrap();
    symlink(&elsewhere, root.join("data/ab")).unwrap();
    assert!(b.list(FileType::Pack).unwrap().is_empty());
    let e = err_text(b.read_range(FileType::Pack, &pack, 0, 4));
    assert!(e.contains("data/ab is not a real directory"), "{e}");
    // Nothing is written through it either.
    assert!(b.write(FileType::Pack, &"ab".repeat(32), b"x").is_err());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 1);
    // A symlinked top-level directory is an error naming it, not an empty listing.
    fs::remove_dir(root.join("index")).unwrap();
    symlink(&elsewhere, root.join("index")).unwrap();
    let e = err_text(b.list(FileType::Index));
    assert!(e.contains("index is not a real directory"), "{e}");
}

#[test]
fn a_fifo_is_refused_not_waited_on() {
    let (_dir, b) = real();
    let name = "3".repeat(64);
    let fifo = b.root().join("keys").join(&name);
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
    )
    .unwrap();
    assert!(b.list(FileType::Key).unwrap().is_empty());
    // Reading a FIFO would block until someone writes to it. The read runs apart so that, if it
    // does block, the test opens the FIFO's other end and fails instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    let b = Arc::new(b);
    let b2 = b.clone();
    let n2 = name.clone();
    std::thread::spawn(move || {
        let _ = tx.send(b2.read(FileType::Key, &n2).map_err(|e| format!("{e:#}")));
    });
    let got = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(got) => got,
        Err(_) => {
            let _ = fs::OpenOptions::new().write(true).open(&fifo);
            panic!("reading a FIFO blocked");
        }
    };
    let e = got.unwrap_err();
    assert!(e.contains("is not a regular file"), "{e}");
}

#[test]
fn files_larger_than_any_valid_one_are_refused_before_reading() {
    let (_dir, b) = real();
    let root = b.root().to_path_buf();
    let key = "4".repeat(64);
    fs::write(root.join("keys").join(&key), vec![0u8; 679]).unwrap();
    assert!(
        b.read(FileType::Key, &key).is_ok(),
        "a key file of 679 bytes is allowed"
    );
    fs::write(root.join("keys").join(&key), vec![0u8; 2000]).unwrap();
    let e = err_text(b.read(FileType::Key, &key));
    assert!(
        e.contains(&key) && e.contains("larger than any valid key file"),
        "{e}"
    );
    fs::write(root.join("config"), vec![0u8; (64 << 10) + 1]).unwrap();
    let e = err_text(b.read(FileType::Config, "config"));
    assert!(e.contains("larger than any valid config file"), "{e}");
    // A sparse pack past the largest valid pack: refused without reading (or allocating) it.
    let pack = "5".repeat(64);
    let f = fs::File::create(root.join("data/55").join(&pack)).unwrap();
    f.set_len(FileType::Pack.max_size() + 1).unwrap();
    let e = err_text(b.read(FileType::Pack, &pack));
    assert!(e.contains("larger than any valid pack file"), "{e}");
    // Ranges: past the end of the file, or past the end of any valid pack.
    let e = err_text(b.read_range(FileType::Pack, &pack, FileType::Pack.max_size(), 2));
    assert!(e.contains("past the end of any valid pack file"), "{e}");
    f.set_len(100).unwrap();
    let e = err_text(b.read_range(FileType::Pack, &pack, 90, 1 << 30));
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn modified_is_the_storage_mtime() {
    let (_dir, b) = real();
    let name = "6".repeat(64);
    assert_eq!(b.modified(FileType::Lock, &name).unwrap(), None);
    b.write(FileType::Lock, &name, b"lock").unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
    let p = b.root().join("locks").join(&name);
    filetime::set_file_mtime(&p, filetime::FileTime::from_system_time(t)).unwrap();
    assert_eq!(b.modified(FileType::Lock, &name).unwrap(), Some(t));
}

fn sim() -> (Arc<SimFs>, LocalBackend) {
    let fs = Arc::new(SimFs::new());
    let b = LocalBackend::with_fs("/sim/repo", fs.clone());
    (fs, b)
}

#[test]
fn a_new_repository_survives_a_power_cut() {
    let (fs, b) = sim();
    b.create().unwrap();
    fs.power_cut(None);
    for d in [
        "keys",
        "snapshots",
        "index",
        "locks",
        "data/00",
        "data/ab",
        "data/ff",
    ] {
        assert!(fs.stat(Path::new(d)).unwrap().is_some(), "{d} is gone");
    }
}

#[test]
fn a_returned_write_survives_a_power_cut_even_into_a_new_directory() {
    let (fs, b) = sim();
    b.create().unwrap();
    // The fan-out directory is gone (durably): the write must create it, durably.
    fs.remove_dir(Path::new("data/ab")).unwrap();
    fs.sync_dir(Path::new("data")).unwrap();
    let pack = "ab".repeat(32);
    b.write(FileType::Pack, &pack, b"second").unwrap();
    fs.power_cut(None);
    assert_eq!(b.read(FileType::Pack, &pack).unwrap(), b"second");
}

#[test]
fn a_returned_delete_survives_a_power_cut() {
    let (fs, b) = sim();
    b.create().unwrap();
    let snap = "7".repeat(64);
    b.write(FileType::Snapshot, &snap, b"snapshot").unwrap();
    b.delete(FileType::Snapshot, &snap).unwrap();
    fs.power_cut(None);
    assert_eq!(b.stat(FileType::Snapshot, &snap).unwrap(), None);
    assert!(b.list(FileType::Snapshot).unwrap().is_empty());
}

#[test]
fn create_file_never_replaces_and_leaves_nothing_behind() {
    let (dir, b) = real();
    assert!(b.create_file(FileType::Config, "config", b"first").unwrap());
    assert!(!b
        .create_file(FileType::Config, "config", b"second")
        .unwrap());
    assert_eq!(b.read(FileType::Config, "config").unwrap(), b"first");
    // No temporary file is left at the top.
    let names: Vec<String> = fs::read_dir(dir.path().join("repo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    // Of many threads creating the same file at once, exactly one does.
    let b = Arc::new(b);
    let created: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8u8)
            .map(|i| {
                let b = b.clone();
                s.spawn(move || b.create_file(FileType::Lock, "race", &[i; 64]).unwrap())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap() as usize).sum()
    });
    assert_eq!(created, 1);
}

#[test]
fn create_file_in_the_simulation_refuses_an_existing_name() {
    let fs = Arc::new(SimFs::new());
    let b = LocalBackend::with_fs("/sim", fs.clone());
    b.create().unwrap();
    assert!(b.create_file(FileType::Key, "k", b"one").unwrap());
    assert!(!b.create_file(FileType::Key, "k", b"two").unwrap());
    assert_eq!(b.read(FileType::Key, "k").unwrap(), b"one");
}
