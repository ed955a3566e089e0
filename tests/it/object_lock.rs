//! S3 object lock against moto's server: `init --object-lock`, writes under retention, prune
//! keeping what is under retention and extending the retention of what the snapshots use, and
//! the refusals where retention cannot be kept.
//!
//! What moto 5.2.1 does (probed with boto3 before these tests were written): `CreateBucket` with
//! `x-amz-bucket-object-lock-enabled: true` makes a versioned bucket whose
//! GetObjectLockConfiguration says `<ObjectLockEnabled>Enabled`; for a bucket without it, 404
//! `ObjectLockConfigurationNotFoundError`. A PUT with `x-amz-object-lock-mode` and
//! `x-amz-object-lock-retain-until-date` keeps both and sends them on HEAD (whole seconds as
//! given; after `PUT ?retention`, with microseconds); the same PUT into a bucket without object
//! lock is 400 InvalidRequest "Bucket is missing ObjectLockConfiguration". `PUT ?retention`
//! moves the date later, and in GOVERNANCE mode also earlier (AWS would need
//! `x-amz-bypass-governance-retention`), which these tests use to make retention run out. A
//! DELETE without a version ID answers 204 and adds a delete marker (the object is hidden, its
//! version stays); a DELETE of the locked version is 403 AccessDenied. moto ignores the lock
//! headers of CreateMultipartUpload (the object has no retention), so these tests keep every
//! file below the multipart threshold.

use crate::s3::{backup, ok, run};
use crate::util::*;
use backstock::backend::{Backend, FileType, ObjectLock, RetentionMode, S3Options};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const DAY: u64 = 24 * 3600;

fn small_tree(d: &Path, tag: &str) {
    write(
        &d.join("media/a.bin"),
        pseudo_random(&format!("lock a {tag}"), 3 << 20),
    );
    write(
        &d.join("products/1.json"),
        product_json(&format!("lock one {tag}"), 2_000),
    );
    write(
        &d.join("products/2.json"),
        product_json("lock two", 200_000),
    );
}

/// The library's view of the repository, with the lock of the repository's config.
fn lib_backend(moto: &S3Server, prefix: &str, days: u32) -> impl Backend {
    let b = moto.backend(prefix, S3Options::default());
    b.set_object_lock(Some(ObjectLock {
        days,
        mode: RetentionMode::Governance,
    }))
    .unwrap();
    b
}

/// Every file of the repository but locks, with its retain-until date.
fn retention(b: &impl Backend) -> Vec<(FileType, String, Option<SystemTime>)> {
    let mut out = vec![(
        FileType::Config,
        "config".to_string(),
        b.retained_until(FileType::Config, "config").unwrap(),
    )];
    for t in [
        FileType::Key,
        FileType::Snapshot,
        FileType::Index,
        FileType::Pack,
    ] {
        for (name, _) in b.list(t).unwrap() {
            let until = b.retained_until(t, &name).unwrap();
            out.push((t, name, until));
        }
    }
    out
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn restore_same(env: &Env, moto: &S3Server, store: &Path, target: &str) {
    let target = env.dir(target);
    let t = target.to_str().unwrap();
    ok(env, moto, &[], &["restore", "latest", "--target", t]);
    assert_same_tree(store, &target.join("store"));
}

#[test]
fn locked_repository_keeps_files_under_retention_and_prune_holds_then_extends() {
    let moto = S3Server::moto();
    let prefix = "locked/repo";
    let mut env = Env::new();
    env.repo = PathBuf::from(moto.location(prefix));
    let store = env.path("store");
    small_tree(&store, "1");

    // The bucket does not exist: init makes it with object lock enabled.
    let init = ok(&env, &moto, &[], &["init", "--object-lock", "3"]);
    assert!(init.contains("retention for 3 days"), "{init}");
    backup(&env, &moto, &[]);
    small_tree(&store, "2");
    let second = backup(&env, &moto, &[]);
    restore_same(&env, &moto, &store, "r1");

    let b = lib_backend(&moto, prefix, 3);
    let now = SystemTime::now();
    let files = retention(&b);
    assert!(files.iter().any(|(t, _, _)| *t == FileType::Pack));
    for (t, name, until) in &files {
        let until = until.unwrap_or_else(|| panic!("{t:?} {name} is under no retention"));
        assert!(
            until > now + Duration::from_secs(3 * DAY - 600)
                && until < now + Duration::from_secs(3 * DAY + 600),
            "{t:?} {name}: {until:?}"
        );
    }
    assert!(b.list(FileType::Lock).unwrap().is_empty());

    // Forget the first snapshot and prune everything unused: nothing can go yet.
    ok(&env, &moto, &[], &["forget", "--keep-last", "1"]);
    let snaps = b.list(FileType::Snapshot).unwrap();
    assert_eq!(
        snaps.len(),
        1,
        "the forgotten snapshot is hidden (a delete marker)"
    );
    assert!(second.starts_with(&snaps[0].0[..8]) || snaps[0].0.starts_with(&second[..8]));
    let packs_before = b.list(FileType::Pack).unwrap().len();
    let r = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--max-unused", "0"],
    ));
    assert!(r["packs_retained_kept"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["packs_deleted"], 0, "{r}");
    assert_eq!(r["packs_repacked"], 0, "{r}");
    assert!(r["retained_until"].is_string(), "{r}");
    assert_eq!(
        r["retention_extended"], 0,
        "fresh retention is not extended: {r}"
    );
    assert_eq!(b.list(FileType::Pack).unwrap().len(), packs_before);
    let text = ok(&env, &moto, &[], &["prune", "--max-unused", "0"]);
    assert!(
        text.contains("under retention (object lock) until"),
        "{text}"
    );
    // Nothing changed, so the index was not rewritten: no new files under retention.
    let again = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--max-unused", "0"],
    ));
    assert_eq!(again["index_files_written"], 0, "{again}");
    restore_same(&env, &moto, &store, "r2");
    ok(&env, &moto, &[], &["check", "--read-data"]);

    // The packs' retention runs out (moto lets GOVERNANCE retention be shortened), the index
    // files' does not: prune deletes the unused packs and commits a new index, keeps the old
    // index files (superseded, under retention) and extends the retention of the used packs.
    let index_before = b.list(FileType::Index).unwrap();
    let soon = SystemTime::now() + Duration::from_secs(2);
    for (name, _) in b.list(FileType::Pack).unwrap() {
        b.extend_retention(FileType::Pack, &name, soon).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    let r = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--max-unused", "0"],
    ));
    assert!(r["packs_deleted"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["packs_retained_kept"], 0, "{r}");
    assert_eq!(
        r["index_files_retained_kept"].as_u64(),
        Some(index_before.len() as u64),
        "{r}"
    );
    assert!(r["index_files_written"].as_u64().unwrap() > 0, "{r}");
    assert!(r["retention_extended"].as_u64().unwrap() > 0, "{r}");
    let index_after = b.list(FileType::Index).unwrap();
    for f in &index_before {
        assert!(
            index_after.contains(f),
            "held index file {} was deleted",
            f.0
        );
    }
    let now = SystemTime::now();
    for (t, name, until) in retention(&b) {
        let until = until.unwrap();
        assert!(
            until > now + Duration::from_secs(2 * DAY),
            "{t:?} {name} was neither extended nor left: {until:?}"
        );
    }
    // Readers ignore the superseded files: restore, check, and a prune that has nothing to do
    // rewrites nothing.
    restore_same(&env, &moto, &store, "r3");
    let c = json(&ok(&env, &moto, &[], &["--json", "check", "--read-data"]));
    assert_eq!(c["errors"].as_array().map(Vec::len), Some(0), "{c}");
    let again = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--max-unused", "0"],
    ));
    assert_eq!(again["index_files_written"], 0, "{again}");
    assert_eq!(again["packs_deleted"], 0, "{again}");

    // The held index files' retention runs out: the next prune deletes them (hides them: a
    // delete marker) without writing an index, which would put the live files, under
    // retention, in their place.
    let mut live: Vec<String> = index_after
        .iter()
        .filter(|f| !index_before.contains(f))
        .map(|f| f.0.clone())
        .collect();
    live.sort();
    let soon = SystemTime::now() + Duration::from_secs(2);
    for (name, _) in &index_before {
        b.extend_retention(FileType::Index, name, soon).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    let r = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--max-unused", "0"],
    ));
    assert_eq!(r["index_files_written"], 0, "{r}");
    let mut names: Vec<String> = b
        .list(FileType::Index)
        .unwrap()
        .into_iter()
        .map(|f| f.0)
        .collect();
    names.sort();
    assert_eq!(names, live, "{r}");
    restore_same(&env, &moto, &store, "r4");

    // Turned off, nothing is extended.
    let short = SystemTime::now() + Duration::from_secs(DAY);
    for (t, name, _) in retention(&b) {
        b.extend_retention(t, &name, short).unwrap();
    }
    let r = json(&ok(
        &env,
        &moto,
        &[],
        &["--json", "prune", "--no-extend-retention"],
    ));
    assert_eq!(r["retention_extended"], 0, "{r}");
    let r = json(&ok(&env, &moto, &[], &["--json", "prune"]));
    assert!(r["retention_extended"].as_u64().unwrap() >= 4, "{r}");
}

#[test]
fn retention_is_refused_where_it_cannot_be_kept() {
    // A local repository cannot keep files under retention.
    let env = Env::new();
    let err = env.fails(16, ["init", "--object-lock", "7"]);
    assert!(err.contains("cannot keep files under retention"), "{err}");
    assert!(!env.repo.join("config").exists());
    let err = env.fails(1, ["init", "--object-lock", "0"]);
    assert!(err.contains("object-lock"), "{err}");

    let moto = S3Server::moto();
    let mut env = Env::new();
    // A bucket made without object lock (by a plain init) is refused with the lock.
    env.repo = PathBuf::from(moto.location("plain/a"));
    ok(&env, &moto, &[], &["init"]);
    env.repo = PathBuf::from(moto.location("plain/b"));
    let out = run(&env, &moto, &[], &["init", "--object-lock", "7"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(16), "{err}");
    assert!(err.contains("does not have object lock enabled"), "{err}");
    assert!(moto
        .backend("plain/b", S3Options::default())
        .stat(FileType::Config, "config")
        .unwrap()
        .is_none());

    // A repository whose config asks for object lock, copied to a local directory, does not open.
    env.repo = PathBuf::from(moto.location("locked2/repo"));
    ok(
        &env,
        &moto,
        &[],
        &[
            "init",
            "--object-lock",
            "1",
            "--object-lock-mode",
            "compliance",
        ],
    );
    let s3 = moto.backend("locked2/repo", S3Options::default());
    let h = s3.retained_until(FileType::Config, "config").unwrap();
    assert!(h.is_some());
    let local_dir = env.path("copied");
    let local = backstock::backend::LocalBackend::new(&local_dir);
    local.create().unwrap();
    local
        .write(
            FileType::Config,
            "config",
            &s3.read(FileType::Config, "config").unwrap(),
        )
        .unwrap();
    for (name, _) in s3.list(FileType::Key).unwrap() {
        local
            .write(
                FileType::Key,
                &name,
                &s3.read(FileType::Key, &name).unwrap(),
            )
            .unwrap();
    }
    let mut local_env = Env::new();
    local_env.repo = local_dir;
    let err = local_env.fails(16, ["snapshots"]);
    assert!(
        err.contains("under retention") && err.contains("compliance"),
        "{err}"
    );
}
