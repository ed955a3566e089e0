//! A restore cannot be redirected and never destroys data: symlinks and hard links swapped in while
//! it runs, setuid bits without the owner, entries of another kind in the target, an existing
//! target's own metadata, incomplete files, hostile nesting, `--delete` and `--sync`.

use crate::util::*;
use backstock::format::tree::NodeKind;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A repository holding one backup of `make_store` at `<tmp>/store`.
fn store_backup() -> Env {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    env
}

fn restore_args(spec: &str, target: &Path, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = vec!["restore".into(), spec.into(), "--target".into()];
    a.push(target.into());
    a.extend(extra.iter().map(Into::into));
    a
}

/// Directories and files for the swap race: `DIRS` directories of `FILES` files each, every
/// twentieth file large enough for direct writes.
const DIRS: usize = 40;
const FILES: usize = 100;

fn make_many(root: &Path) {
    for d in 0..DIRS {
        for f in 0..FILES {
            let p = root.join(format!("d{d}/f{f}"));
            if f % 20 == 0 {
                write(&p, pseudo_random(&format!("{d}/{f}"), 70_000));
            } else {
                write(&p, format!("content of d{d}/f{f}\n").repeat(1 + f % 7));
            }
        }
    }
}

/// A tiny deterministic generator, so the swapper's choices vary without a seed to manage.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Replaces entries under `target/src` while the restore runs: files by symlinks to (or hard links
/// of) the victim's files of the same name, directories (moved aside) by symlinks to the victim
/// directory. Every `f1` as soon as it is seen, other entries now and then, so that swaps land in
/// every phase of the restore.
fn swapper(target: PathBuf, victim: PathBuf, stop: Arc<AtomicBool>, swaps: Arc<AtomicUsize>) {
    let mut rng = Lcg(0x5eed);
    let src = target.join("src");
    while !stop.load(Ordering::Relaxed) {
        let Ok(dirs) = fs::read_dir(&src) else {
            std::thread::yield_now();
            continue;
        };
        for d in dirs.flatten() {
            let dp = d.path();
            let name = d.file_name().to_string_lossy().into_owned();
            let real_dir = d.file_type().is_ok_and(|t| t.is_dir());
            if !real_dir || name.ends_with(".moved") {
                continue;
            }
            let candidate = name
                .trim_start_matches('d')
                .parse::<usize>()
                .is_ok_and(|i| i % 5 == 0);
            if candidate && rng.below(300) == 0 {
                if fs::rename(&dp, src.join(format!("{name}.moved"))).is_ok()
                    && std::os::unix::fs::symlink(&victim, &dp).is_ok()
                {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            let Ok(files) = fs::read_dir(&dp) else {
                continue;
            };
            for f in files.flatten() {
                let is_file = f.file_type().is_ok_and(|t| t.is_file());
                if !is_file || (f.file_name() != "f1" && rng.below(1500) != 0) {
                    continue;
                }
                let fp = f.path();
                let to = victim.join(f.file_name());
                if fs::remove_file(&fp).is_err() {
                    continue;
                }
                let swapped = if rng.below(4) == 0 {
                    fs::hard_link(&to, &fp)
                } else {
                    std::os::unix::fs::symlink(&to, &fp)
                };
                if swapped.is_ok() {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[test]
fn entries_swapped_for_symlinks_during_the_restore_never_lead_it_outside() {
    let env = Env::init();
    make_many(&env.path("src"));
    env.backup(&["src"]);
    // The victim holds a mode-600 file for every name the restore writes.
    let victim = env.path("victim");
    for f in 0..FILES {
        let p = victim.join(format!("f{f}"));
        write(&p, format!("victim {f}\n"));
        chmod(&p, 0o600);
        set_mtime(&p, 1_000_000_000, 0);
    }
    chmod(&victim, 0o700);
    set_mtime(&victim, 1_000_000_000, 0);
    let before = scan_tree(&victim);

    let target = env.dir("target");
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let thread = {
        let (t, v, s, n) = (target.clone(), victim.clone(), stop.clone(), swaps.clone());
        std::thread::spawn(move || swapper(t, v, s, n))
    };
    let out = env.run(restore_args("latest", &target, &[]));
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_panic(&stderr);
    assert!(
        swaps.load(Ordering::Relaxed) > 0,
        "the swapper never swapped anything; the test proves nothing"
    );
    assert!(
        scan_tree(&victim) == before,
        "the restore changed the victim directory:\n{stderr}"
    );
    match out.status.code() {
        Some(0) => {}
        Some(1) => assert!(
            stderr.contains("was replaced or removed during the restore"),
            "exit 1 without naming a replaced entry:\n{stderr}"
        ),
        other => panic!("exit {other:?}:\n{stderr}"),
    }
    // Nothing the restore made is setuid or world-writable.
    for (rel, e) in scan_tree(&target) {
        if e.kind != Kind::Symlink {
            assert_eq!(e.mode & 0o6002, 0, "{}", String::from_utf8_lossy(&rel));
        }
    }
}

#[test]
fn setuid_and_setgid_are_dropped_when_the_owner_cannot_be_set() {
    let env = Env::init();
    // Owned by root: no unprivileged restore can give them that owner.
    write_snapshot(&env, |s| {
        let mut dir = bare_node("sdir", NodeKind::Dir, 0o2775, 0, 0);
        dir.content = s
            .save_tree(&[file_node(s, "in", b"inside\n", 0o644, 0, 0)], false)
            .unwrap();
        vec![
            file_node(s, "suid", b"#!/bin/sh\n", 0o4755, 0, 0),
            file_node(s, "sgid", b"#!/bin/sh\n", 0o2755, 0, 0),
            file_node(s, "both", b"#!/bin/sh\n", 0o6777, 0, 0),
            dir,
        ]
    });
    let target = env.path("target");
    let out = run_unprivileged(&env, &restore_args("latest", &target, &[]));
    expect_code(&out, 0, &[]);
    let mode = |p: &str| fs::metadata(target.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("suid"), 0o755);
    assert_eq!(mode("sgid"), 0o755);
    assert_eq!(mode("both"), 0o777);
    assert_eq!(mode("sdir"), 0o775);
    assert_eq!(mode("sdir/in"), 0o644);
    assert_eq!(fs::read(target.join("sdir/in")).unwrap(), b"inside\n");
}

#[test]
fn a_directory_where_the_snapshot_has_a_file_is_kept_unless_delete() {
    let env = store_backup();
    let store = env.path("store");
    let target = env.dir("target");
    let t = target.join("store");
    write(&t.join("orders.csv/keep.txt"), "a directory in the way\n");
    write(&t.join("theme"), "a file in the way\n");
    write(&t.join("extra.txt"), "not in the snapshot\n");
    let outside = env.path("outside");
    write(&outside.join("precious"), "outside\n");
    std::os::unix::fs::symlink(&outside, t.join("link-out")).unwrap();

    let out = env.run(restore_args("latest", &target, &[]));
    expect_code(&out, 1, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    for p in ["store/orders.csv", "store/theme", "--delete"] {
        assert!(err.contains(p), "does not name {p}:\n{err}");
    }
    assert_eq!(
        fs::read_to_string(t.join("orders.csv/keep.txt")).unwrap(),
        "a directory in the way\n"
    );
    assert_eq!(
        fs::read_to_string(t.join("theme")).unwrap(),
        "a file in the way\n"
    );
    assert!(t.join("extra.txt").exists());
    // Everything else is restored with its metadata, though the restore had problems.
    for p in [
        "store/products",
        "store/products/1.json",
        "store/products.jsonl",
        "store/cache",
    ] {
        assert_eq!(entry(&target.join(p)), entry(&env.path(p)), "{p}");
    }

    // --delete replaces what is in the way and removes what the snapshot does not have (a
    // symlink, not what it points to).
    env.restore("latest", &target, &["--delete"]);
    assert_same_tree(&store, &t);
    assert_eq!(
        fs::read_to_string(outside.join("precious")).unwrap(),
        "outside\n"
    );

    // Entries the filters leave out are not deleted.
    write(&t.join("junk.tmp"), "excluded\n");
    write(&t.join("junk.txt"), "deleted\n");
    env.restore("latest", &target, &["--delete", "--exclude", "*.tmp"]);
    assert!(t.join("junk.tmp").exists());
    assert!(!t.join("junk.txt").exists());
}

#[test]
fn a_hard_link_in_the_target_is_replaced_not_written_through() {
    let env = store_backup();
    let outside = env.path("outside.csv");
    write(&outside, "must stay\n");
    chmod(&outside, 0o600);
    let before = entry(&outside);
    let target = env.dir("target");
    fs::create_dir_all(target.join("store")).unwrap();
    fs::hard_link(&outside, target.join("store/orders.csv")).unwrap();

    env.restore("latest", &target, &[]);
    assert_eq!(entry(&outside), before);
    assert_eq!(fs::metadata(&outside).unwrap().nlink(), 1);
    assert_same_tree(&env.path("store"), &target.join("store"));
}

#[test]
fn restoring_a_subtree_leaves_an_existing_target_s_mode_and_owner_alone() {
    let env = Env::init();
    let store = env.path("store");
    make_store(&store);
    chmod(&store.join("products"), 0o750);
    if is_root() {
        std::os::unix::fs::lchown(store.join("products"), Some(1234), Some(5678)).unwrap();
    }
    env.backup(&["store"]);
    let target = env.path("home");
    fs::create_dir(&target).unwrap();
    chmod(&target, 0o711);
    let (uid, gid) = {
        let m = fs::metadata(&target).unwrap();
        (m.uid(), m.gid())
    };

    env.restore("latest:store/products", &target, &[]);
    let m = fs::metadata(&target).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o711, "the target's mode changed");
    assert_eq!((m.uid(), m.gid()), (uid, gid), "the target's owner changed");
    assert_eq!(top_names(&target), top_names(&store.join("products")));
    assert_eq!(
        entry(&target.join("1.json")),
        entry(&store.join("products/1.json"))
    );
}

/// The blob of `file`'s chunk `n` in the latest snapshot: its pack and entry.
fn nth_blob(env: &Env, file: &str, n: usize) -> (PathBuf, serde_json::Value) {
    let node = env.node("latest", file);
    let blobs = ids(&node["content"]);
    assert!(blobs.len() > n, "{file} has {} chunks", blobs.len());
    env.find_blob(&blobs[n])
}

#[test]
fn a_file_left_incomplete_keeps_no_original_mtime_and_is_counted_failed() {
    let mut env = Env::init();
    let store = env.path("store");
    make_store(&store);
    set_mtime(&store.join("products.jsonl"), 1_000_000_000, 0);
    env.backup(&["store"]);
    // Damage the second chunk: the file's first chunk is written, the rest is not.
    let (pack, blob) = nth_blob(&env, "store/products.jsonl", 1);
    flip_byte(&pack, blob["offset"].as_u64().unwrap() + 100);
    env.fresh_cache();

    let target = env.dir("target");
    let mut args = vec!["--json".into()];
    args.extend(restore_args("latest", &target, &[]));
    let out = env.run(&args);
    expect_code(&out, 1, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store/products.jsonl: incomplete"),
        "does not name the file:\n{err}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files_failed"], 1, "{report}");
    let whole = rel_paths(&store)
        .iter()
        .filter(|p| store.join(p).is_file())
        .count();
    assert_eq!(report["files"], whole as u64 - 1, "{report}");

    let partial = fs::metadata(target.join("store/products.jsonl")).unwrap();
    assert_eq!(partial.mode() & 0o7777, 0o600);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        partial.mtime() > now - 3600,
        "the incomplete file has mtime {}, not the restore's time",
        partial.mtime()
    );
    // The rest is complete, directories' metadata included.
    for p in ["store", "store/products", "store/products/1.json"] {
        assert_eq!(entry(&target.join(p)), entry(&env.path(p)), "{p}");
    }

    // The summary line says so too.
    let again = env.dir("again");
    let out = env.run(restore_args("latest", &again, &[]));
    expect_code(&out, 1, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 failed)"), "{stdout}");
}

#[test]
fn sync_restore_is_complete() {
    let env = store_backup();
    let target = env.dir("target");
    let out = env.ok(restore_args("latest:store", &target, &["--sync"]));
    assert!(out.contains("restored"), "{out}");
    assert_same_tree(&env.path("store"), &target);
}

#[test]
fn restored_entries_are_private_until_their_metadata_is_set() {
    // A restore that fails before the end still leaves no entry more open than the snapshot says
    // (or than 0600/0700): a file whose content cannot be restored stays 0600 whatever its mode.
    let mut env = Env::init();
    let store = env.path("store");
    write(&store.join("public.bin"), pseudo_random("public", 50_000));
    chmod(&store.join("public.bin"), 0o666);
    env.backup(&["store"]);
    let (pack, blob) = nth_blob(&env, "store/public.bin", 0);
    flip_byte(&pack, blob["offset"].as_u64().unwrap() + 100);
    env.fresh_cache();
    let target = env.dir("target");
    env.fails(1, restore_args("latest", &target, &[]));
    let modes: BTreeMap<String, u32> = ["store", "store/public.bin"]
        .iter()
        .map(|p| {
            let m = fs::metadata(target.join(p)).unwrap().permissions().mode();
            (p.to_string(), m & 0o7777)
        })
        .collect();
    assert_eq!(modes["store/public.bin"], 0o600, "{modes:?}");
    assert_eq!(
        modes["store"],
        fs::metadata(&store).unwrap().mode() & 0o7777,
        "{modes:?}"
    );
}

/// A pack gone from the repository: the restore names the files it could not finish, the pack,
/// and why the read failed (the system's own words), not only what was being read.
#[test]
fn a_missing_pack_is_named_with_the_reason_the_read_failed() {
    let mut env = Env::init();
    let store = env.path("store");
    make_store(&store);
    env.backup(&["store"]);
    let (pack, _) = nth_blob(&env, "store/products.jsonl", 0);
    std::fs::remove_file(&pack).unwrap();
    env.fresh_cache();
    let target = env.dir("target");
    let args = restore_args("latest", &target, &[]);
    let out = env.run(&args);
    expect_code(&out, 1, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    let name = pack.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains("store/products.jsonl: incomplete")
            && err.contains(&format!("reading pack {name}"))
            && err.contains("No such file or directory"),
        "{err}"
    );
}
