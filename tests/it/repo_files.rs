//! The files of a local repository, end to end: private modes, and entries that are not what
//! backstock writes (oversized files, symlinks) refused with messages that name them.

use crate::util::{write, Env};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every directory and file under `root` with its mode.
fn modes_under(root: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(root.display().to_string(), mode(root))];
    for e in fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(modes_under(&p));
        } else {
            out.push((p.display().to_string(), mode(&p)));
        }
    }
    out
}

fn store(env: &Env) {
    write(
        &env.path("store/products.json"),
        b"{\"id\": 1}\n".repeat(500),
    );
    write(&env.path("store/orders.csv"), b"1,2,3\n".repeat(300));
}

#[test]
fn repository_and_cache_are_private() {
    let env = Env::init();
    store(&env);
    env.backup(&["store"]);
    env.cmd()
        .env("BACKSTOCK_NEW_PASSWORD", "second password")
        .args(["key", "add"])
        .assert()
        .success();
    let mut seen_files = 0;
    for root in [&env.repo, &env.cache] {
        for (path, m) in modes_under(root) {
            let is_dir = Path::new(&path).is_dir();
            if root == &env.cache && Path::new(&path) == env.cache {
                continue; // the test made it
            }
            let want = if is_dir { 0o700 } else { 0o600 };
            assert_eq!(m, want, "{path} is {m:o}");
            seen_files += usize::from(!is_dir);
        }
    }
    // config, two keys, a snapshot, an index, at least two packs, the cache file.
    assert!(seen_files >= 8, "{seen_files} files");
}

#[test]
fn entries_backstock_never_writes_are_refused_by_name() {
    let env = Env::init();
    store(&env);
    env.backup(&["store"]);

    // A key file too large for the format is skipped with a warning naming it; the real key opens.
    // Key files are tried in name order: this one comes first.
    let junk = "0".repeat(64);
    write(&env.repo.join("keys").join(&junk), vec![7u8; 4096]);
    let out = env.run(["snapshots"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&junk) && err.contains("larger than any valid key file"),
        "{err}"
    );
    fs::remove_file(env.repo.join("keys").join(&junk)).unwrap();

    // config as a symlink, even to a valid config, is not followed.
    let moved = env.path("config-elsewhere");
    fs::rename(env.repo.join("config"), &moved).unwrap();
    symlink(&moved, env.repo.join("config")).unwrap();
    let err = env.fails(1, ["snapshots"]);
    assert!(err.contains("config is not a regular file"), "{err}");
    fs::remove_file(env.repo.join("config")).unwrap();
    fs::rename(&moved, env.repo.join("config")).unwrap();

    // A pack directory swapped for a symlink to its own copy: check reports the packs missing.
    let snap = env.names_in("snapshots");
    assert_eq!(snap.len(), 1);
    let packs = env.packs();
    let fan = packs[0].0.parent().unwrap().to_path_buf();
    let copy = env.path("fan-copy");
    fs::rename(&fan, &copy).unwrap();
    symlink(&copy, &fan).unwrap();
    let out = env.run(["check"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    let pack_name = packs[0]
        .0
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(text.contains(&pack_name), "{text}");
}
