//! Partial restores (one file, a subtree, include/exclude filters), `dump`, `--stdin` backups and
//! `--exclude` at backup time.

use crate::util::*;
use std::collections::BTreeSet;
use std::fs;

/// A repository holding one backup of `make_store` at `<tmp>/store`.
fn store_backup() -> Env {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    env
}

#[test]
fn restore_one_file_and_one_subtree() {
    let env = store_backup();
    let store = env.path("store");

    let one = env.dir("one");
    env.restore("latest:store/products/1.json", &one, &[]);
    assert_eq!(top_names(&one), ["1.json"]);
    assert_eq!(
        entry(&one.join("1.json")),
        entry(&store.join("products/1.json"))
    );

    // A subtree's contents go straight into the target, which takes the directory's metadata when
    // the restore creates it.
    let sub = env.dir("sub");
    env.restore("latest:store/products", &sub, &[]);
    assert_same_tree(&store.join("products"), &sub);

    // A missing path is an error, not an empty restore.
    let none = env.dir("none");
    let err = env.fails(
        1,
        [
            "restore",
            "latest:store/no-such-file",
            "--target",
            none.to_str().unwrap(),
        ],
    );
    assert!(err.contains("no-such-file"), "{err}");
}

/// Restores the whole snapshot with `filters`; checks that exactly the source paths for which `keep`
/// holds came back, each identical to its source.
fn check_filtered(env: &Env, name: &str, filters: &[&str], keep: impl Fn(&str) -> bool) {
    let target = env.dir(name);
    env.restore("latest", &target, filters);
    let expected: BTreeSet<String> = rel_paths(&env.path("store"))
        .into_iter()
        .map(|p| format!("store/{p}"))
        .chain(["store".to_string()])
        .filter(|p| keep(p))
        .collect();
    assert_eq!(rel_paths(&target), expected, "restore {filters:?}");
    for p in &expected {
        assert_eq!(
            entry(&target.join(p)),
            entry(&env.path(p)),
            "restore {filters:?}: {p}"
        );
    }
}

#[test]
fn restore_include_and_exclude_filters() {
    let env = store_backup();
    let is_json_or_its_dir =
        |p: &str| ["store", "store/products"].contains(&p) || p.ends_with(".json");
    check_filtered(&env, "json", &["--include", "*.json"], is_json_or_its_dir);
    check_filtered(
        &env,
        "json-but-2",
        &["--include", "*.json", "--exclude", "2.json"],
        |p| is_json_or_its_dir(p) && !p.ends_with("/2.json"),
    );
    check_filtered(
        &env,
        "no-theme-no-tmp",
        &["--exclude", "theme", "--exclude", "*.tmp"],
        |p| !p.contains("theme") && !p.ends_with(".tmp"),
    );
    check_filtered(&env, "theme-only", &["--include", "store/theme"], |p| {
        p == "store" || p.starts_with("store/theme")
    });
}

#[test]
fn dump_prints_the_file() {
    let env = store_backup();
    for file in [
        "store/products/1.json",
        "store/products.jsonl",
        "store/products/images/1.jpg",
    ] {
        let out = env.ok_bytes(["dump", "latest", file]);
        assert!(
            out == fs::read(env.path(file)).unwrap(),
            "dump {file} differs"
        );
    }
    // A directory is a tar stream now (dump_archive:: checks it whole).
    let tar = env.ok_bytes(["dump", "latest", "store/products"]);
    assert_eq!(&tar[257..262], b"ustar", "not a tar archive");
    let err = env.fails(1, ["dump", "latest", "store/missing.json"]);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn stdin_backup_then_dump() {
    let env = Env::init();
    // Large enough to be cut into several chunks.
    let input = product_json("from standard input", 400_000);
    env.ok_stdin(
        ["--json", "backup", "--stdin", "--stdin-filename", "x.json"],
        input.as_bytes(),
    );
    assert_eq!(env.ls("latest"), ["/x.json"]);
    assert_eq!(
        env.snapshots(&[])[0]["paths"],
        serde_json::json!(["/x.json"])
    );
    let dumped = env.ok_bytes(["dump", "latest", "x.json"]);
    assert!(
        dumped == input.as_bytes(),
        "dump of the stdin backup differs"
    );
}

#[test]
fn exclude_at_backup_leaves_files_out() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store", "--exclude", "*.tmp"]);
    let listed = env.ls("latest");
    assert!(listed.iter().all(|l| !l.ends_with(".tmp")), "{listed:#?}");
    for kept in [
        "/store/cache",
        "/store/products/1.json",
        "/store/theme/assets/app.css",
    ] {
        assert!(
            listed.iter().any(|l| l == kept),
            "{kept} missing:\n{listed:#?}"
        );
    }

    // A pattern with '/' matches the path inside the snapshot.
    env.backup(&["store", "--exclude", "store/theme"]);
    let listed = env.ls("latest");
    assert!(listed.iter().all(|l| !l.contains("theme")), "{listed:#?}");
    assert!(
        listed.iter().any(|l| l == "/store/draft.tmp"),
        "{listed:#?}"
    );
}

#[test]
fn restore_does_not_follow_symlinks_in_the_target() {
    let env = store_backup();
    let outside = env.path("outside");
    write(&outside.join("orders.csv"), "must stay\n");
    let target = env.dir("target");
    fs::create_dir_all(target.join("store")).unwrap();
    std::os::unix::fs::symlink(outside.join("orders.csv"), target.join("store/orders.csv"))
        .unwrap();
    std::os::unix::fs::symlink(&outside, target.join("store/theme")).unwrap();

    let out = env.run([
        "restore".as_ref(),
        "latest".as_ref(),
        "--target".as_ref(),
        target.as_os_str(),
    ]);
    assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        fs::read_to_string(outside.join("orders.csv")).unwrap(),
        "must stay\n"
    );
    assert_eq!(
        top_names(&outside),
        ["orders.csv"],
        "restore wrote outside the target"
    );
    if out.status.success() {
        assert_same_tree(&env.path("store"), &target.join("store"));
    }
}

/// restic's meaning (`backup_select::` checks it against restic): a pattern with a '/' inside
/// matches the last components of the absolute path; one starting with '/' the whole path.
#[test]
fn backup_excludes_with_a_slash_match_the_last_components_or_the_absolute_path() {
    let env = Env::init();
    make_store(&env.path("store"));
    let listed_after = |args: &[&str]| {
        env.backup(args);
        env.ls("latest")
    };
    let one = "/store/products/1.json".to_string();
    let l = listed_after(&["./store/products", "--exclude", "store/products/1.json"]);
    assert!(!l.contains(&one), "not excluded:\n{l:#?}");
    let l = listed_after(&["store/products", "--exclude", "products/1.json"]);
    assert!(!l.contains(&one), "not excluded:\n{l:#?}");
    // Anchored: the path from the root of the file system, not of the snapshot.
    let l = listed_after(&["store/products", "--exclude", "/store/products/1.json"]);
    assert!(
        l.contains(&one),
        "excluded by a pattern anchored elsewhere:\n{l:#?}"
    );
    let abs = format!("{}/store/products/1.json", env.root.display());
    let l = listed_after(&["store/products", "--exclude", &abs]);
    assert!(
        !l.contains(&one),
        "not excluded by its absolute path:\n{l:#?}"
    );
}
