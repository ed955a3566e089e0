//! Versions over time through the binary: 40 daily backups thinned by forget + prune, check,
//! repair index, keys, unlock.

use crate::util::*;
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Day `d` of a small store that changes every day: some files edited, one added, one removed.
fn write_day(dir: &Path, d: usize) {
    fs::create_dir_all(dir.join("products")).unwrap();
    for i in 0..20 {
        // Product i changes every (i % 5 + 1) days.
        let version = d / (i % 5 + 1);
        write(
            &dir.join(format!("products/{i}.json")),
            product_json(&format!("p{i}v{version}"), 3000),
        );
    }
    write(
        &dir.join(format!("orders-{d}.json")),
        product_json(&format!("order{d}"), 500),
    );
    if d >= 3 {
        let _ = fs::remove_file(dir.join(format!("orders-{}.json", d - 3)));
    }
    write(
        &dir.join("products.jsonl"),
        product_json(&format!("bulk{d}"), 40_000),
    );
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Snapshots kept by --keep-daily 7 --keep-weekly 4 --keep-monthly 3 for one snapshot a day (noon).
fn expected_days(days: &[NaiveDate]) -> BTreeSet<NaiveDate> {
    let mut newest_first = days.to_vec();
    newest_first.sort_by(|a, b| b.cmp(a));
    let mut keep = BTreeSet::new();
    let mut take = |n: usize, bucket: &dyn Fn(&NaiveDate) -> (i32, u32)| {
        let mut seen = BTreeSet::new();
        for d in &newest_first {
            if seen.len() == n {
                break;
            }
            if seen.insert(bucket(d)) {
                keep.insert(*d);
            }
        }
    };
    take(7, &|d| (d.year(), d.ordinal()));
    take(4, &|d| (d.iso_week().year(), d.iso_week().week()));
    take(3, &|d| (d.year(), d.month()));
    keep
}

#[test]
fn forty_daily_versions_thinned_and_pruned() {
    let env = Env::init();
    let src = env.path("store");
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut days = Vec::new();
    for d in 0..40 {
        write_day(&src, d);
        let date = start + Duration::days(d as i64);
        days.push(date);
        copy_tree(&src, &env.path(&format!("copies/{date}/store")));
        env.backup(&["store", "--time", &format!("{date} 12:00:00")]);
    }
    let before = env.repo_size();
    env.ok([
        "forget",
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--keep-monthly",
        "3",
        "--prune",
    ]);
    let after = env.repo_size();
    assert!(
        after < before,
        "repository did not shrink: {before} -> {after}"
    );

    let kept: BTreeSet<NaiveDate> = env
        .snapshots(&[])
        .iter()
        .map(|s| {
            let t = s["time"].as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .date_naive()
        })
        .collect();
    assert_eq!(kept, expected_days(&days));

    env.ok(["check", "--read-data"]);
    for s in env.snapshots(&[]) {
        let t = chrono::DateTime::parse_from_rfc3339(s["time"].as_str().unwrap())
            .unwrap()
            .date_naive();
        let target = env.dir(&format!("restored-{t}"));
        env.restore(s["id"].as_str().unwrap(), &target, &[]);
        let expected = env.path(&format!("copies/{t}"));
        assert_eq!(rel_paths(&expected), rel_paths(&target), "files of {t}");
        for p in files_under(&expected) {
            let rel = p.strip_prefix(&expected).unwrap();
            assert_eq!(
                file_hash(&p),
                file_hash(&target.join(rel)),
                "{t}: {}",
                rel.display()
            );
        }
    }
}

#[test]
fn repair_index_rebuilds_from_packs() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    for name in env.names_in("index") {
        fs::remove_file(env.repo.join("index").join(name)).unwrap();
    }
    let err = env.fails(1, ["check"]);
    assert!(err.contains("not in the index"), "{err}");
    env.ok(["repair", "index"]);
    env.ok(["check", "--read-data"]);
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_same_tree(&env.path("store"), &target.join("store"));
}

#[test]
fn check_reports_damage_by_name() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    env.ok(["check", "--read-data-subset", "1/1"]);
    let (pack, _) = env
        .packs()
        .into_iter()
        .max_by_key(|(p, _)| fs::metadata(p).unwrap().len())
        .unwrap();
    let name = pack.file_name().unwrap().to_string_lossy().into_owned();
    chmod(&pack, 0o644);
    flip_byte(&pack, 100);
    // Structure is intact; reading the data finds the damage.
    env.ok(["check"]);
    let err = env.fails(1, ["check", "--read-data"]);
    assert!(err.contains(&name), "{err}");
    fs::remove_file(&pack).unwrap();
    let err = env.fails(1, ["check"]);
    assert!(err.contains(&name) && err.contains("missing"), "{err}");
    assert!(env
        .fails(1, ["check", "--read-data-subset", "7/3"])
        .contains("N <= M"));
}

/// The ID of a key that is not the one in use.
fn other_key(env: &Env) -> String {
    env.json(["--json", "key", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|k| !k["current"].as_bool().unwrap())
        .expect("a second key")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs with another password (and optionally a new one for key add/passwd).
fn with_password(
    env: &Env,
    password: &str,
    new: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut c = env.cmd();
    c.env("BACKSTOCK_PASSWORD", password);
    if let Some(n) = new {
        c.env("BACKSTOCK_NEW_PASSWORD", n);
    }
    c.args(args).output().unwrap()
}

#[test]
fn keys_add_list_remove_passwd() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    let keys = env.json(["--json", "key", "list"]);
    let first = keys[0]["id"].as_str().unwrap().to_string();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    // The last key and the key in use cannot go.
    env.fails(1, ["key", "remove", &first[..8]]);
    assert!(
        with_password(&env, PASSWORD, Some("second"), &["key", "add"])
            .status
            .success()
    );
    assert_eq!(
        env.json(["--json", "key", "list"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let second = other_key(&env);
    // Both passwords open the repository.
    assert!(with_password(&env, "second", None, &["snapshots"])
        .status
        .success());
    // Change the second password; the old one stops working, the new one works.
    let out = with_password(&env, "second", Some("third"), &["key", "passwd"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        with_password(&env, "second", None, &["snapshots"])
            .status
            .code(),
        Some(12)
    );
    assert!(with_password(&env, "third", None, &["snapshots"])
        .status
        .success());
    assert!(!env.names_in("keys").contains(&second));
    // The original password removes the third key.
    let third = other_key(&env);
    env.ok(["key", "remove", &third]);
    assert_eq!(env.names_in("keys"), vec![first]);
    let kf = env.json(["cat", "key", &env.names_in("keys")[0]]);
    assert!(kf["host"].is_string() && kf["user"].is_string() && kf["created"].is_i64());
}

#[test]
fn stale_locks_are_ignored_and_unlocked() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    // A lock left by a process that is gone: a backup killed while it reads standard input.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_backstock"))
        .current_dir(&env.root)
        .env("BACKSTOCK_PASSWORD", PASSWORD)
        .args([
            "-r",
            env.repo.to_str().unwrap(),
            "--cache-dir",
            env.cache.to_str().unwrap(),
        ])
        .args(["backup", "--stdin", "--stdin-filename", "x"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until its lock file appears, then kill it while it reads standard input.
    for _ in 0..200 {
        if !env.names_in("locks").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(env.names_in("locks").len(), 1, "the backup took no lock");
    child.kill().unwrap();
    child.wait().unwrap();
    // Partial files of killed writers: prune removes those older than an hour, not fresh ones (a
    // writer may still be at work on them).
    let old_tmp = env.repo.join("data/00/.tmp-0011223344556677");
    let fresh_tmp = env.repo.join("data/01/.tmp-8899aabbccddeeff");
    fs::write(&old_tmp, vec![7u8; 5000]).unwrap();
    fs::write(&fresh_tmp, vec![7u8; 5000]).unwrap();
    let two_hours_ago =
        filetime::FileTime::from_unix_time(chrono::Utc::now().timestamp() - 7200, 0);
    filetime::set_file_mtime(&old_tmp, two_hours_ago).unwrap();
    // The stale lock does not block an exclusive operation.
    let out = env.ok(["prune"]);
    assert!(out.contains("removed 1 partial files"), "{out}");
    assert!(!old_tmp.exists() && fresh_tmp.exists());
    assert_eq!(env.names_in("locks").len(), 1);
    env.ok(["unlock"]);
    assert!(env.names_in("locks").is_empty());
}

/// The same paths, and the same content in every file (metadata aside).
fn assert_same_files(expected: &Path, actual: &Path) {
    assert_eq!(rel_paths(actual), rel_paths(expected));
    for p in files_under(expected) {
        let rel = p.strip_prefix(expected).unwrap();
        assert_eq!(
            file_hash(&p),
            file_hash(&actual.join(rel)),
            "{}",
            rel.display()
        );
    }
}

/// Packs as `(file name, "data" or "tree")`.
fn pack_kinds(env: &Env) -> Vec<(String, String)> {
    env.packs()
        .into_iter()
        .map(|(p, info)| {
            let kind = info["blobs"][0]["blob_type"].as_str().unwrap().to_string();
            (p.file_name().unwrap().to_string_lossy().into_owned(), kind)
        })
        .collect()
}

/// The pack file with this name.
fn pack_path(env: &Env, name: &str) -> std::path::PathBuf {
    env.repo.join("data").join(&name[..2]).join(name)
}

/// Every repository file but locks, with its bytes.
fn contents_without_locks(env: &Env) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let locks = env.repo.join("locks");
    env.repo_contents()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&locks))
        .collect()
}

/// Two snapshots of a store whose bulk file changed in between, the first forgotten: prune has a
/// partly used pack to repack.
fn store_with_a_forgotten_version(env: &Env) -> (String, String) {
    make_store(&env.path("store"));
    let first = env.backup(&["store"]);
    write(
        &env.path("store/products.jsonl"),
        product_json("bulk-changed", 200_000),
    );
    let second = env.backup(&["store"]);
    env.ok(["forget", &first]);
    (first, second)
}

#[test]
fn prune_dry_run_reports_what_the_real_run_does() {
    let env = Env::init();
    store_with_a_forgotten_version(&env);
    let dry = env.json(["--json", "prune", "--dry-run", "--max-unused", "0"]);
    let real = env.json(["--json", "prune", "--max-unused", "0"]);
    assert!(real["packs_repacked"].as_u64().unwrap() > 0, "{real}");
    assert!(real["packs_written"].as_u64().unwrap() > 0, "{real}");
    for (k, v) in real.as_object().unwrap() {
        if [
            "dry_run",
            "duration_seconds",
            "leftovers_deleted",
            "index_files_written",
        ]
        .contains(&k.as_str())
        {
            continue;
        }
        assert_eq!(&dry[k], v, "{k}: dry run {dry}\nreal run {real}");
    }
    env.ok(["check", "--read-data"]);
}

#[test]
fn prune_refuses_while_a_snapshot_or_index_file_cannot_be_read() {
    let env = Env::init();
    let (_, kept) = store_with_a_forgotten_version(&env);
    let before = contents_without_locks(&env);

    // A damaged snapshot file: its data would count as unused.
    let snap = env.repo.join("snapshots").join(&kept);
    let good = fs::read(&snap).unwrap();
    flip_byte(&snap, 40);
    let err = env.fails(1, ["prune"]);
    assert!(
        err.contains(&kept) && err.contains("repair snapshots") && err.contains("nothing"),
        "{err}"
    );
    fs::write(&snap, &good).unwrap();
    // A stray file in snapshots/ is no snapshot (its name is no ID): named, and no obstacle.
    let stray = env.repo.join("snapshots/notes.txt");
    fs::write(&stray, "not a snapshot").unwrap();
    let out = env.run(["prune", "--dry-run"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    fs::remove_file(&stray).unwrap();
    // A damaged index file: the packs only it lists would count as unindexed.
    let index = env.repo.join("index").join(&env.names_in("index")[0]);
    let good = fs::read(&index).unwrap();
    flip_byte(&index, 40);
    let err = env.fails(1, ["--no-cache", "prune"]);
    assert!(
        err.contains("repair index") && err.contains("index/"),
        "{err}"
    );
    fs::write(&index, &good).unwrap();

    assert!(
        contents_without_locks(&env) == before,
        "prune changed the repository"
    );
    env.ok(["prune"]);
    env.ok(["check", "--read-data"]);
}

#[test]
fn repair_snapshots_removes_files_that_do_not_decode() {
    let env = Env::init();
    make_store(&env.path("store"));
    let good = env.backup(&["store"]);
    write(&env.path("store/new.json"), product_json("new", 500));
    let damaged = env.backup(&["store"]);
    flip_byte(&env.repo.join("snapshots").join(&damaged), 50);
    fs::write(env.repo.join("snapshots/README.txt"), "stray").unwrap();

    let before = contents_without_locks(&env);
    let out = env.ok(["repair", "snapshots", "--dry-run"]);
    assert!(
        out.contains(&damaged) && out.contains("README.txt"),
        "{out}"
    );
    assert!(out.contains("would be removed"), "{out}");
    assert!(
        contents_without_locks(&env) == before,
        "a dry run changed the repository"
    );

    let out = env.ok(["repair", "snapshots"]);
    assert!(out.contains("nothing that can be restored"), "{out}");
    // The stray file is not backstock's: named, and left where it is.
    assert!(out.contains("README.txt: left alone"), "{out}");
    let mut names = env.names_in("snapshots");
    names.sort();
    let mut want = vec!["README.txt".to_string(), good.clone()];
    want.sort();
    assert_eq!(names, want);
    env.ok(["check", "--read-data"]);
    env.ok(["prune"]);
    let target = env.dir("restored");
    env.restore(&good, &target, &[]);
    fs::remove_file(env.path("store/new.json")).unwrap();
    assert_same_files(&env.path("store"), &target.join("store"));
}

#[test]
fn repair_snapshots_rewrites_a_snapshot_whose_data_pack_is_lost() {
    let env = Env::init();
    make_store(&env.path("store"));
    let first = env.backup(&["store"]);
    let packs_before: BTreeSet<String> = pack_kinds(&env).into_iter().map(|(n, _)| n).collect();
    write(
        &env.path("store/extra/big.bin"),
        pseudo_random("big", 300_000),
    );
    write(&env.path("store/extra/note.txt"), "a note\n");
    let second = env.backup(&["store"]);
    let lost: Vec<String> = pack_kinds(&env)
        .into_iter()
        .filter(|(n, kind)| kind == "data" && !packs_before.contains(n))
        .map(|(n, _)| n)
        .collect();
    assert!(!lost.is_empty());
    for name in &lost {
        fs::remove_file(pack_path(&env, name)).unwrap();
    }

    let before = contents_without_locks(&env);
    let out = env.ok(["repair", "snapshots", "--dry-run"]);
    assert!(out.contains("would be rewritten"), "{out}");
    assert!(
        contents_without_locks(&env) == before,
        "a dry run changed the repository"
    );

    let r = env.json(["--json", "repair", "snapshots"]);
    let damaged = r["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{r}");
    assert_eq!(damaged[0]["id"], second.as_str());
    let problems = damaged[0]["problems"].to_string();
    assert!(
        problems.contains("/store/extra/big.bin") && problems.contains("/store/extra/note.txt"),
        "{problems}"
    );
    assert_eq!(damaged[0]["original_removed"], false);
    let repaired = damaged[0]["new_id"].as_str().unwrap().to_string();
    let snaps = env.snapshots(&[]);
    assert_eq!(snaps.len(), 3);
    let tags = &snaps.iter().find(|s| s["id"] == repaired.as_str()).unwrap()["tags"];
    assert_eq!(tags, &serde_json::json!(["repaired"]));

    // The original still references the lost data: prune refuses until it is forgotten.
    let err = env.fails(1, ["prune"]);
    assert!(err.contains("repair snapshots"), "{err}");
    env.ok(["forget", &second]);
    env.ok(["repair", "index"]);
    env.ok(["check", "--read-data"]);
    env.ok(["prune"]);
    env.ok(["check", "--read-data"]);

    // The repaired snapshot restores everything but the files whose data was lost.
    let target = env.dir("restored");
    env.restore(&repaired, &target, &[]);
    fs::remove_dir_all(env.path("store/extra")).unwrap();
    fs::create_dir(env.path("store/extra")).unwrap();
    assert_same_files(&env.path("store"), &target.join("store"));
    assert_eq!(env.snapshots(&[]).len(), 2);
    assert!(env.names_in("snapshots").contains(&first));
}

#[test]
fn repair_snapshots_forget_replaces_snapshots_that_lost_trees() {
    let env = Env::init();
    write(&env.path("store/sub/a.json"), product_json("a", 2000));
    write(&env.path("store/sub/b.json"), product_json("b", 2000));
    write(&env.path("store/top.json"), product_json("top", 2000));
    let first = env.backup(&["store"]);
    let trees_before: Vec<String> = pack_kinds(&env)
        .into_iter()
        .filter(|(_, k)| k == "tree")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(trees_before.len(), 1);
    // The second snapshot writes new trees for the root and store/ but reuses store/sub's.
    write(&env.path("store/new.json"), product_json("new", 2000));
    let second = env.backup(&["store"]);
    fs::remove_file(pack_path(&env, &trees_before[0])).unwrap();

    let r = env.json(["--json", "repair", "snapshots", "--forget"]);
    let damaged = r["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 2, "{r}");
    let by_id = |id: &str| damaged.iter().find(|d| d["id"] == id).unwrap();
    assert_eq!(by_id(&first)["nothing_left"], true, "{r}");
    assert!(by_id(&first)["new_id"].is_null());
    let d = by_id(&second);
    assert_eq!(d["nothing_left"], false);
    assert!(d["problems"].to_string().contains("/store/sub/"), "{d}");
    assert!(damaged.iter().all(|d| d["original_removed"] == true));
    let repaired = d["new_id"].as_str().unwrap().to_string();
    assert_eq!(env.names_in("snapshots"), vec![repaired.clone()]);

    env.ok(["repair", "index"]);
    env.ok(["check", "--read-data"]);
    env.ok(["prune"]);
    let target = env.dir("restored");
    env.restore(&repaired, &target, &[]);
    assert_eq!(
        rel_paths(&target.join("store")),
        rel_paths(&env.path("store"))
            .into_iter()
            .filter(|p| !p.starts_with("sub/"))
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(
        file_hash(&target.join("store/new.json")),
        file_hash(&env.path("store/new.json"))
    );
}

/// Data in packs no index lists is not lost: `repair snapshots` refuses to rewrite (or with
/// `--forget`, delete) anything until `repair index` has indexed those packs.
#[test]
fn repair_snapshots_waits_for_repair_index_when_packs_are_unindexed() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    for name in env.names_in("index") {
        fs::remove_file(env.repo.join("index").join(name)).unwrap();
    }
    let before = contents_without_locks(&env);
    let err = env.fails(1, ["repair", "snapshots", "--forget"]);
    assert!(err.contains("repair index"), "{err}");
    assert!(
        contents_without_locks(&env) == before,
        "repair snapshots changed the repository"
    );
    env.ok(["repair", "index"]);
    let out = env.ok(["repair", "snapshots", "--forget"]);
    assert!(!out.contains("rewritten as"), "{out}");
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_same_tree(&env.path("store"), &target.join("store"));
}
