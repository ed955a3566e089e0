//! restore's restic habits: `--overwrite always|if-changed|if-newer|never`, `--dry-run` (what
//! would change, nothing changed), `--verify`, `--iinclude`/`--iexclude`, and `--host`/`--tag`/
//! `--path` choosing which snapshot `latest` is.

use crate::util::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

fn set_mtime(p: &Path, secs: i64) {
    filetime::set_file_mtime(p, filetime::FileTime::from_unix_time(secs, 0)).unwrap();
}

/// A snapshot of `src` with files of known mtimes, restored once into `target`.
fn restored(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = env.path("src");
    for (name, mtime) in [
        ("same.json", 1_700_000_000),
        ("older.json", 1_700_000_000),
        ("newer.json", 1_700_000_000),
        ("edited.json", 1_700_000_000),
    ] {
        write(&src.join(name), format!("snapshot {name}\n"));
        set_mtime(&src.join(name), mtime);
    }
    env.backup(&["src"]);
    let target = env.dir("target");
    env.restore("latest", &target, &[]);
    (src, target.join("src"))
}

/// Puts the target in a state each mode treats differently.
fn diverge(t: &Path) {
    // Same size and mtime as the snapshot, other content: only `always` replaces it.
    fs::write(t.join("same.json"), "SNAPSHOT SAME.JSON\n").unwrap();
    set_mtime(&t.join("same.json"), 1_700_000_000);
    // Older than the snapshot's: replaced by if-newer.
    fs::write(t.join("older.json"), "old local\n").unwrap();
    set_mtime(&t.join("older.json"), 1_600_000_000);
    // Newer than the snapshot's: kept by if-newer.
    fs::write(t.join("newer.json"), "new local\n").unwrap();
    set_mtime(&t.join("newer.json"), 1_800_000_000);
    // Edited: another size.
    fs::write(t.join("edited.json"), "edited locally, longer\n").unwrap();
    set_mtime(&t.join("edited.json"), 1_700_000_000);
}

fn contents(t: &Path) -> Vec<String> {
    ["same.json", "older.json", "newer.json", "edited.json"]
        .iter()
        .map(|n| fs::read_to_string(t.join(n)).unwrap())
        .collect()
}

#[test]
fn overwrite_modes_decide_per_file() {
    let env = Env::init();
    let (_, t) = restored(&env);
    let target = t.parent().unwrap().to_path_buf();
    let snap = |n: &str| format!("snapshot {n}\n");
    for (mode, expect) in [
        (
            "never",
            [
                "SNAPSHOT SAME.JSON\n".to_string(),
                "old local\n".into(),
                "new local\n".into(),
                "edited locally, longer\n".into(),
            ],
        ),
        (
            "if-newer",
            [
                "SNAPSHOT SAME.JSON\n".to_string(),
                snap("older.json"),
                "new local\n".into(),
                "edited locally, longer\n".into(),
            ],
        ),
        (
            "if-changed",
            [
                "SNAPSHOT SAME.JSON\n".to_string(),
                snap("older.json"),
                snap("newer.json"),
                snap("edited.json"),
            ],
        ),
        (
            "always",
            [
                snap("same.json"),
                snap("older.json"),
                snap("newer.json"),
                snap("edited.json"),
            ],
        ),
    ] {
        diverge(&t);
        let out = env.json([
            "--json",
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
            "--overwrite",
            mode,
        ]);
        assert_eq!(contents(&t), expect, "--overwrite {mode}");
        let kept = expect
            .iter()
            .zip(["same.json", "older.json", "newer.json", "edited.json"])
            .filter(|(c, n)| **c != snap(n))
            .count();
        assert_eq!(out["files_kept"], kept, "--overwrite {mode}: {out}");
    }
    let e = env.fails(
        1,
        [
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
            "--overwrite",
            "sometimes",
        ],
    );
    assert!(e.contains("if-changed"), "{e}");
}

#[test]
fn a_dry_run_says_what_would_change_and_changes_nothing() {
    let env = Env::init();
    let (_, t) = restored(&env);
    let target = t.parent().unwrap().to_path_buf();
    diverge(&t);
    fs::write(t.join("extra.txt"), "only in the target\n").unwrap();
    fs::remove_file(t.join("edited.json")).unwrap();
    let before = scan_tree(&target);
    let plan = env.json([
        "--json",
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
        "--dry-run",
        "--delete",
        "--overwrite",
        "if-newer",
    ]);
    assert_eq!(scan_tree(&target), before, "a dry run changed the target");
    let action = |p: &str| -> String {
        plan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == p)
            .unwrap_or_else(|| panic!("{p} not in {plan}"))["action"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(action("src"), "update");
    assert_eq!(action("src/same.json"), "keep");
    assert_eq!(action("src/older.json"), "replace");
    assert_eq!(action("src/newer.json"), "keep");
    assert_eq!(action("src/edited.json"), "create");
    assert_eq!(action("src/extra.txt"), "delete");
    let len = |n: &str| format!("snapshot {n}\n").len() as u64;
    assert_eq!(plan["bytes"], len("older.json") + len("edited.json"));
    // Into a target that does not exist: everything would be created, and it is not made.
    let fresh = env.path("fresh");
    let out = env.ok([
        "restore",
        "latest",
        "--target",
        fresh.to_str().unwrap(),
        "-n",
    ]);
    assert!(out.contains("5 to create"), "{out}");
    assert!(!fresh.exists());
}

#[test]
fn verify_reads_every_restored_file_back() {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("big.bin"), pseudo_random("big", 5 << 20));
    write(&src.join("small.json"), product_json("s", 10_000));
    write(&src.join("empty"), "");
    env.backup(&["src"]);
    let target = env.dir("target");
    let out = env.json([
        "--json",
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]);
    assert_eq!(out["verified"], 3, "{out}");
    assert_eq!(out["errors"], serde_json::json!([]));
}

#[test]
fn case_insensitive_filters_and_which_snapshot_latest_is() {
    let env = Env::init();
    write(&env.path("shop/Products/1.JSON"), "one");
    write(&env.path("shop/products/2.json"), "two");
    write(&env.path("shop/Media/A.JPG"), "jpg");
    env.backup(&["--host", "shop-a", "--tag", "daily,shop", "shop"]);
    write(&env.path("other/x"), "x");
    env.backup(&["--host", "shop-b", "other"]);

    let t = env.dir("ci");
    env.restore("latest", &t, &["--host", "shop-a", "--iinclude", "*.json"]);
    let got: Vec<String> = files_under(&t)
        .iter()
        .map(|p| p.strip_prefix(&t).unwrap().display().to_string())
        .collect();
    assert_eq!(got, ["shop/Products/1.JSON", "shop/products/2.json"]);

    let t = env.dir("ce");
    env.restore(
        "latest",
        &t,
        &["--tag", "daily,shop", "--iexclude", "MEDIA"],
    );
    assert!(t.join("shop/products/2.json").exists());
    assert!(!t.join("shop/Media").exists());

    // Both tags are needed with `a,b`: no snapshot has daily and weekly.
    let e = env.fails(
        1,
        [
            "restore",
            "latest",
            "--target",
            env.path("none").to_str().unwrap(),
            "--tag",
            "daily,weekly",
        ],
    );
    assert!(e.contains("no snapshot"), "{e}");
    let t = env.dir("by-path");
    env.restore(
        "latest",
        &t,
        &["--path", env.path("other").to_str().unwrap()],
    );
    assert!(t.join("other/x").exists());
    let snaps: Vec<Value> = env.snapshots(&["--tag", "daily,shop"]);
    assert_eq!(snaps.len(), 1);
}
