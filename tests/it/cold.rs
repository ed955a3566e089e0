//! Cold storage on S3 against moto's server: data packs in an archive class, metadata where it
//! reads at once, restores of archived packs, prune and check around them.
//!
//! What moto 5.2.1 does (probed with boto3 before these tests were written): it keeps
//! `x-amz-storage-class` from a PUT and from CreateMultipartUpload, lists it as `StorageClass`,
//! sends it on HEAD (not for STANDARD), refuses an unknown class with 400 InvalidStorageClass,
//! answers a GET (ranged or not) of a GLACIER or DEEP_ARCHIVE object 403 InvalidObjectState,
//! answers RestoreObject 202 the first time and 200 after, and restores at once: the next HEAD
//! says `x-amz-restore: ongoing-request="false", expiry-date=...` and GETs work. It never says
//! `ongoing-request="true"` nor 409 RestoreAlreadyInProgress; those answers, and polling, are
//! tested against canned answers in the backend's unit tests. RestoreObject of a STANDARD_IA
//! object is 403 InvalidObjectState.

use crate::s3::{backup, build_tree, fails, ok, run};
use crate::util::*;
use backstock::backend::{ArchiveState, Availability, Backend, FileType, S3Options};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

const GLACIER: (&str, &str) = ("BACKSTOCK_S3_STORAGE_CLASS_DATA", "GLACIER");

/// Where moto says each pack is, by name.
fn pack_classes(moto: &S3Server, prefix: &str) -> HashMap<String, Availability> {
    let b = moto.backend(prefix, S3Options::default());
    b.list(FileType::Pack)
        .unwrap()
        .into_iter()
        .map(|(name, _)| {
            let a = b.availability(FileType::Pack, &name).unwrap();
            (name, a)
        })
        .collect()
}

/// The blob type of every indexed pack ("data" or "tree"), from `cat index`.
fn pack_types(env: &Env, moto: &S3Server, prefix: &str) -> HashMap<String, String> {
    let b = moto.backend(prefix, S3Options::default());
    let mut types = HashMap::new();
    for (name, _) in b.list(FileType::Index).unwrap() {
        let out = ok(env, moto, &[], &["--json", "cat", "index", &name]);
        let v: Value = serde_json::from_str(&out).expect("cat index --json");
        for p in v["packs"].as_array().expect("packs") {
            let id = p["id"].as_str().expect("pack id").to_string();
            let t = p["blobs"][0]["blob_type"].as_str().expect("blob type");
            types.insert(id, t.to_string());
        }
    }
    types
}

/// moto's request log lines from `from` on (a byte offset of the log).
fn log_since(moto: &S3Server, from: usize) -> String {
    moto.log_text().get(from..).unwrap_or_default().to_string()
}

/// RestoreObject requests in a piece of moto's log.
fn restore_posts(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("\"POST /") && l.contains("restore="))
        .count()
}

/// GETs of data packs in a piece of moto's log.
fn pack_gets(log: &str, prefix: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(&format!("\"GET /{prefix}/data/")))
        .count()
}

fn data_packs(types: &HashMap<String, String>) -> Vec<String> {
    let mut v: Vec<String> = types
        .iter()
        .filter(|(_, t)| *t == "data")
        .map(|(n, _)| n.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn cold_data_packs_go_to_glacier_and_a_restore_is_requested_then_continued() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    let prefix = "cold/a";
    env.repo = PathBuf::from(moto.location(prefix));
    let store = env.path("store");
    build_tree(&store);
    let knobs = [
        GLACIER,
        ("BACKSTOCK_S3_STORAGE_CLASS_METADATA", "STANDARD_IA"),
        // The 12 MiB data pack goes up in parts: the class must be set on the multipart upload.
        ("BACKSTOCK_S3_MULTIPART_THRESHOLD", "6291456"),
        ("BACKSTOCK_S3_PART_SIZE", "5242880"),
    ];
    ok(&env, &moto, &knobs, &["init"]);
    backup(&env, &moto, &knobs);
    assert!(
        moto.log_text().contains("partNumber="),
        "no multipart upload"
    );

    // Data packs are in GLACIER and archived; tree packs and the rest in STANDARD_IA.
    let types = pack_types(&env, &moto, prefix);
    let classes = pack_classes(&moto, prefix);
    let data = data_packs(&types);
    assert!(!data.is_empty() && types.len() > data.len(), "{types:?}");
    assert_eq!(classes.len(), types.len());
    for (name, a) in &classes {
        if types[name] == "data" {
            assert_eq!(a.class.as_deref(), Some("GLACIER"), "{name}");
            assert_eq!(a.state, ArchiveState::Archived, "{name}");
        } else {
            assert_eq!(a.class.as_deref(), Some("STANDARD_IA"), "{name}");
            assert!(a.readable() && a.cold, "{name}");
        }
    }
    let b = moto.backend(prefix, S3Options::default());
    for t in [FileType::Index, FileType::Snapshot, FileType::Key] {
        for (name, _) in b.list(t).unwrap() {
            let a = b.availability(t, &name).unwrap();
            assert_eq!(a.class.as_deref(), Some("STANDARD_IA"), "{t:?} {name}");
        }
    }
    let a = b.availability(FileType::Config, "config").unwrap();
    assert_eq!(a.class.as_deref(), Some("STANDARD_IA"));

    // Commands that read only metadata work without any restore, from an empty cache.
    env.fresh_cache();
    let mark = moto.log_text().len();
    let snaps = ok(&env, &moto, &[], &["snapshots"]);
    assert!(snaps.contains("store"), "{snaps}");
    let ls = ok(&env, &moto, &[], &["ls", "latest", "--long"]);
    assert!(ls.contains("products/2.json"), "{ls}");
    let found = ok(&env, &moto, &[], &["find", "2.json"]);
    assert!(found.contains("products/2.json"), "{found}");
    ok(&env, &moto, &[], &["diff", "latest", "latest"]);
    ok(
        &env,
        &moto,
        &[],
        &["forget", "--keep-last", "1", "--dry-run"],
    );
    let log = log_since(&moto, mark);
    assert!(pack_gets(&log, prefix) > 0, "trees come from tree packs");
    assert_eq!(restore_posts(&log), 0, "{log}");
    for d in &data {
        assert!(
            !log.contains(&format!("GET /{prefix}/data/{d}")),
            "{d} was read"
        );
    }

    // check --read-data skips the archived packs and says how many.
    let out = ok(&env, &moto, &[], &["--json", "check", "--read-data"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["packs_archived_skipped"], data.len());
    assert_eq!(v["packs_read"], types.len() - data.len());
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{out}");
    let out = ok(&env, &moto, &[], &["check", "--read-data"]);
    assert!(
        out.contains(&format!(
            "skipped {} packs in an archive storage class",
            data.len()
        )),
        "{out}"
    );

    // restore without waiting: the restores are requested, the command stops with 15 before it
    // writes anything and names every pending pack.
    let target = env.dir("restored");
    let t = target.to_str().unwrap();
    let mark = moto.log_text().len();
    let out = run(&env, &moto, &[], &["restore", "latest", "--target", t]);
    expect_code(
        &out,
        15,
        &["restore", "latest", "--target", t].map(Into::into),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for d in &data {
        assert!(stderr.contains(&format!("pending: data/{d}")), "{stderr}");
    }
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert!(
        !target.exists(),
        "the target was made before the data was readable"
    );
    assert_eq!(restore_posts(&log_since(&moto, mark)), data.len());

    // Run again: moto has restored them; nothing is requested twice.
    let mark = moto.log_text().len();
    ok(&env, &moto, &[], &["restore", "latest", "--target", t]);
    assert_same_tree(&store, &target.join("store"));
    assert_eq!(restore_posts(&log_since(&moto, mark)), 0);
    let dumped = cmd_stdout(&env, &moto, &["dump", "latest", "store/products/2.json"]);
    assert_eq!(
        dumped,
        std::fs::read(store.join("products/2.json")).unwrap()
    );
}

/// Runs a command that must succeed; its standard output as bytes.
fn cmd_stdout(env: &Env, moto: &S3Server, args: &[&str]) -> Vec<u8> {
    let out = run(env, moto, &[], args);
    expect_code(&out, 0, &args.iter().map(Into::into).collect::<Vec<_>>());
    out.stdout
}

#[test]
fn cold_dump_and_restore_wait_for_the_thaw_and_check_reads_what_was_restored() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    let prefix = "cold/b";
    env.repo = PathBuf::from(moto.location(prefix));
    let store = env.path("store");
    build_tree(&store);
    // Small packs: the big file spans many, the small product file one.
    ok(&env, &moto, &[GLACIER], &["init", "--pack-size", "1M"]);
    backup(&env, &moto, &[GLACIER]);
    let data = data_packs(&pack_types(&env, &moto, prefix));
    assert!(data.len() >= 5, "{data:?}");

    // A bad tier is refused before anything is asked.
    let e = fails(
        &env,
        &moto,
        &[],
        &["dump", "--thaw-tier", "slow", "latest", "store/empty.txt"],
    );
    assert!(e.contains("expedited, standard or bulk"), "{e}");

    // dump waits, asking only for the packs of the one file.
    let mark = moto.log_text().len();
    let args = [
        "dump",
        "--wait-for-thaw",
        "--thaw-poll",
        "1s",
        "--thaw-tier",
        "bulk",
        "--thaw-days",
        "2",
        "latest",
        "store/products/1.json",
    ];
    let dumped = cmd_stdout(&env, &moto, &args);
    assert_eq!(
        dumped,
        std::fs::read(store.join("products/1.json")).unwrap()
    );
    let asked = restore_posts(&log_since(&moto, mark));
    assert!(
        asked >= 1 && asked < data.len(),
        "{asked} of {}",
        data.len()
    );

    // check reads the restored packs and skips the others.
    env.fresh_cache();
    let out = ok(&env, &moto, &[], &["--json", "check", "--read-data"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["packs_archived_skipped"], data.len() - asked, "{out}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{out}");

    // restore waits for the rest and is byte for byte the backup.
    let target = env.dir("restored");
    let t = target.to_str().unwrap();
    let mark = moto.log_text().len();
    let out = ok(
        &env,
        &moto,
        &[],
        &[
            "restore",
            "latest",
            "--target",
            t,
            "--wait-for-thaw",
            "--thaw-poll",
            "1s",
        ],
    );
    assert!(out.contains("restored"), "{out}");
    assert_same_tree(&store, &target.join("store"));
    assert_eq!(restore_posts(&log_since(&moto, mark)), data.len() - asked);
    let out = ok(&env, &moto, &[], &["--json", "check", "--read-data"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["packs_archived_skipped"], 0, "{out}");
}

#[test]
fn cold_prune_keeps_archived_and_young_packs_and_never_reads_them() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    let prefix = "cold/c";
    env.repo = PathBuf::from(moto.location(prefix));
    let store = env.path("store");
    write(&store.join("keep.json"), product_json("cold keep", 20_000));
    write(&store.join("drop.json"), product_json("cold drop", 20_000));
    ok(&env, &moto, &[GLACIER], &["init"]);
    let first = backup(&env, &moto, &[GLACIER]);
    std::fs::remove_file(store.join("drop.json")).unwrap();
    write(&store.join("new.json"), product_json("cold new", 20_000));
    backup(&env, &moto, &[GLACIER]);
    let other = env.path("other");
    write(
        &other.join("unique.bin"),
        pseudo_random("cold unique", 300_000),
    );
    let out = ok(&env, &moto, &[GLACIER], &["--json", "backup", "other"]);
    let third: Value = serde_json::from_str(&out).unwrap();
    let third = third["snapshot_id"].as_str().unwrap().to_string();
    ok(&env, &moto, &[], &["forget", &first, &third]);
    let before = data_packs(&pack_types(&env, &moto, prefix));
    assert_eq!(before.len(), 3, "{before:?}");

    // The first pack is partly used and archived: kept, never read. The third is unused but
    // young: kept. Tree packs are pruned as usual.
    let mark = moto.log_text().len();
    let out = ok(&env, &moto, &[], &["--json", "prune", "--max-unused", "0"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["packs_archived_kept"], 1, "{out}");
    assert_eq!(r["packs_cold_young_kept"], 1, "{out}");
    assert_eq!(r["packs_repacked"], 0, "{out}");
    let log = log_since(&moto, mark);
    assert_eq!(pack_gets(&log, prefix), 0, "prune read a pack:\n{log}");
    assert_eq!(restore_posts(&log), 0);
    let text = ok(
        &env,
        &moto,
        &[],
        &["prune", "--max-unused", "0", "--dry-run"],
    );
    assert!(
        text.contains("kept 1 partly used packs in an archive storage class"),
        "{text}"
    );
    assert!(
        text.contains("--delete-cold-early deletes them now"),
        "{text}"
    );
    let stored = pack_classes(&moto, prefix);
    assert!(before.iter().all(|p| stored.contains_key(p)));

    // Told to, prune deletes the young unused pack; the archived one still cannot be read.
    let mark = moto.log_text().len();
    let out = ok(
        &env,
        &moto,
        &[],
        &[
            "--json",
            "prune",
            "--max-unused",
            "0",
            "--delete-cold-early",
        ],
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["packs_cold_young_kept"], 0, "{out}");
    assert_eq!(r["packs_archived_kept"], 1, "{out}");
    assert_eq!(pack_gets(&log_since(&moto, mark), prefix), 0);
    let stored = pack_classes(&moto, prefix);
    let left: Vec<&String> = before.iter().filter(|p| stored.contains_key(*p)).collect();
    assert_eq!(left.len(), 2, "{left:?}");

    // Restored (by a restore that waits), the partly used pack can be repacked when asked.
    let target = env.dir("restored");
    let t = target.to_str().unwrap();
    ok(
        &env,
        &moto,
        &[GLACIER],
        &[
            "restore",
            "latest:store",
            "--target",
            t,
            "--wait-for-thaw",
            "--thaw-poll",
            "1s",
        ],
    );
    assert_same_tree(&store, &target);
    let out = ok(
        &env,
        &moto,
        &[GLACIER],
        &["--json", "prune", "--max-unused", "0"],
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["packs_cold_kept"].as_u64(), r["packs_repacked"].as_u64()),
        (Some(1), Some(0)),
        "{out}"
    );
    let out = ok(
        &env,
        &moto,
        &[GLACIER],
        &[
            "--json",
            "prune",
            "--max-unused",
            "0",
            "--repack-cold",
            "--delete-cold-early",
        ],
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["packs_repacked"], 1, "{out}");
    // The new pack went to GLACIER too; what is left restores after a thaw.
    let types = pack_types(&env, &moto, prefix);
    let classes = pack_classes(&moto, prefix);
    for d in data_packs(&types) {
        assert_eq!(classes[&d].class.as_deref(), Some("GLACIER"), "{d}");
    }
    let target = env.dir("restored-again");
    let t = target.to_str().unwrap();
    ok(
        &env,
        &moto,
        &[],
        &[
            "restore",
            "latest:store",
            "--target",
            t,
            "--wait-for-thaw",
            "--thaw-poll",
            "1s",
        ],
    );
    assert_same_tree(&store, &target);
    let out = ok(&env, &moto, &[], &["check", "--read-data"]);
    assert!(out.contains("no errors were found"), "{out}");
}
