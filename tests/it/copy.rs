//! `init --from-repo ... --copy-chunker-params` (related repositories) and `copy`: snapshots move
//! between repositories without re-chunking, restore byte-identical, are copied once, keep their
//! trees' IDs between related repositories and are re-hashed between unrelated ones.

use crate::util::*;
use serde_json::Value;
use std::ffi::OsString;
use std::fs;

/// The source repository's password, unlike the destination's ([`PASSWORD`]).
const SRC_PASSWORD: &str = "source-repository-password";

/// A source repository with its own password, and a store to back up in it.
struct Source {
    env: Env,
}

impl Source {
    fn new() -> Source {
        let env = Env::new();
        let s = Source { env };
        s.ok(&["init"]);
        make_store(&s.env.path("store"));
        s
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self
            .env
            .cmd()
            .env("BACKSTOCK_PASSWORD", SRC_PASSWORD)
            .args(args)
            .output()
            .unwrap();
        expect_code(&out, 0, &[]);
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// `backup store ARGS`; the new snapshot's JSON report.
    fn backup(&self, args: &[&str]) -> Value {
        let mut a = vec!["backup", "store"];
        a.extend_from_slice(args);
        self.json(&a)
    }

    fn snapshots(&self) -> Vec<Value> {
        self.json(&["snapshots"]).as_array().unwrap().clone()
    }
}

/// A file in `dst`'s directory holding the source's password.
fn password_file(dst: &Env) -> OsString {
    let f = dst.path("from-password");
    fs::write(&f, format!("{SRC_PASSWORD}\n")).unwrap();
    f.into_os_string()
}

/// `--from-repo SRC --from-password-file F`, then `args`.
fn from(src: &Source, dst: &Env, args: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = args.iter().map(OsString::from).collect();
    a.extend([
        "--from-repo".into(),
        src.env.repo.clone().into_os_string(),
        "--from-password-file".into(),
        password_file(dst),
    ]);
    a
}

/// A destination related to `src`.
fn related(src: &Source) -> Env {
    let dst = Env::new();
    let out = dst.json(from(
        src,
        &dst,
        &["--json", "init", "--copy-chunker-params"],
    ));
    let src_config = src.json(&["cat", "config"]);
    assert_eq!(out["related_to"], src_config["id"]);
    dst
}

/// `--json copy ARGS` into `dst`.
fn copy(src: &Source, dst: &Env, args: &[&str]) -> Value {
    let mut a = vec!["--json", "copy"];
    a.extend_from_slice(args);
    dst.json(from(src, dst, &a))
}

fn count(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {v:#}"))
}

#[test]
fn a_related_copy_restores_identically_keeps_tree_ids_and_runs_once() {
    let src = Source::new();
    let snap = src.backup(&["--host", "shop", "--tag", "daily"]);
    let src_id = snap["snapshot_id"].as_str().unwrap().to_string();
    let dst = related(&src);

    // Same chunker parameters, not the same repository.
    let (sc, dc) = (src.json(&["cat", "config"]), dst.json(["cat", "config"]));
    assert_eq!(sc["chunker"], dc["chunker"]);
    assert_eq!(sc["pack_size"], dc["pack_size"]);
    assert_ne!(sc["id"], dc["id"]);

    let first = copy(&src, &dst, &[]);
    assert_eq!(first["related"], true);
    assert_eq!(count(&first, "snapshots_copied"), 1);
    assert_eq!(first["copied"][0]["id"], src_id.as_str());
    assert!(count(&first, "blobs_copied") > 0);
    assert_eq!(count(&first, "blobs_present"), 0);
    assert_eq!(count(&first, "blobs_read"), count(&first, "blobs_copied"));
    assert!(
        count(&first, "packs_written") >= 2,
        "a data and a tree pack"
    );

    let target = dst.dir("restored");
    dst.restore("latest", &target, &[]);
    assert_same_tree(&src.env.path("store"), &target.join("store"));

    let copied = dst.snapshots(&[]);
    assert_eq!(copied.len(), 1);
    let c = &copied[0];
    assert_eq!(c["original"], src_id.as_str());
    assert_eq!(c["id"], first["copied"][0]["copy"]);
    assert_ne!(c["id"], src_id.as_str());
    let s = &src.snapshots()[0];
    for field in ["tree", "time", "hostname", "paths", "tags"] {
        assert_eq!(c[field], s[field], "{field}");
    }

    let second = copy(&src, &dst, &[]);
    assert_eq!(count(&second, "snapshots_copied"), 0);
    assert_eq!(count(&second, "blobs_copied"), 0);
    assert_eq!(count(&second, "blobs_read"), 0);
    assert_eq!(second["already_present"], serde_json::json!([src_id]));
    assert_eq!(dst.snapshots(&[]).len(), 1);
    // And the text report says so.
    let text = dst.ok(from(&src, &dst, &["copy"]));
    assert!(
        text.contains("copied 0 snapshots (1 already there)"),
        "{text}"
    );

    let check = dst.json(["--json", "check", "--read-data"]);
    assert_eq!(check["errors"], serde_json::json!([]), "{check:#}");
    assert_eq!(check["packs_read"], check["packs"], "{check:#}");
    assert_eq!(check["snapshots"], 1);
}

#[test]
fn blobs_of_an_earlier_copy_are_not_stored_again() {
    let src = Source::new();
    src.backup(&[]);
    let dst = related(&src);
    let first = copy(&src, &dst, &[]);
    let size_after_first = dst.repo_size();

    // A small change: the second backup adds a few blobs, the copy adds exactly those.
    write(
        &src.env.path("store/products/1.json"),
        product_json("changed", 500),
    );
    let second_backup = src.backup(&[]);
    let added = &second_backup["summary"];
    let second = copy(&src, &dst, &[]);
    assert_eq!(count(&second, "snapshots_copied"), 1);
    assert_eq!(second["already_present"].as_array().unwrap().len(), 1);
    assert_eq!(count(&second, "blobs_copied"), count(added, "blobs_added"));
    assert_eq!(
        count(&second, "bytes_stored"),
        count(added, "bytes_added_stored")
    );
    assert!(count(&second, "blobs_present") > count(&second, "blobs_copied"));
    assert!(
        count(&second, "bytes_stored") * 10 < count(&first, "bytes_stored"),
        "first {first:#}\nsecond {second:#}"
    );
    assert!(dst.repo_size() - size_after_first < size_after_first / 2);
    // The second copy's parent is the destination's copy of the first.
    let copies: Vec<Value> = dst.snapshots(&[]);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[1]["parent"], copies[0]["id"]);
    assert_eq!(copies[0]["parent"], Value::Null);

    let target = dst.dir("restored");
    dst.restore("latest", &target, &[]);
    assert_same_tree(&src.env.path("store"), &target.join("store"));
    dst.ok(["check", "--read-data"]);
}

#[test]
fn an_unrelated_copy_rehashes_rewrites_trees_and_warns() {
    let src = Source::new();
    let snap = src.backup(&["--tag", "daily"]);
    let dst = Env::init();
    let out = dst.run(from(&src, &dst, &["--json", "copy"]));
    expect_code(&out, 0, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("do not share their blob-ID key"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["related"], false);
    assert_eq!(count(&report, "snapshots_copied"), 1);
    assert!(count(&report, "blobs_copied") > 0);

    let copied = &dst.snapshots(&[])[0];
    let s = &src.snapshots()[0];
    assert_ne!(
        copied["tree"], s["tree"],
        "trees are named with the destination's key"
    );
    assert_eq!(copied["original"], snap["snapshot_id"]);
    assert_eq!(copied["tags"], s["tags"]);
    let target = dst.dir("restored");
    dst.restore("latest", &target, &[]);
    assert_same_tree(&src.env.path("store"), &target.join("store"));
    dst.ok(["check", "--read-data"]);

    assert_eq!(count(&report, "blobs_present"), 0);

    let again = copy(&src, &dst, &[]);
    assert_eq!(count(&again, "snapshots_copied"), 0);
    assert_eq!(count(&again, "blobs_read"), 0);

    // A second snapshot sharing most data: all of it is read again, little is stored.
    write(
        &src.env.path("store/products/2.json"),
        product_json("edit", 700),
    );
    src.backup(&[]);
    let next = copy(&src, &dst, &[]);
    assert_eq!(count(&next, "snapshots_copied"), 1);
    assert!(count(&next, "blobs_read") >= count(&report, "blobs_read"));
    assert!(count(&next, "blobs_present") > 0, "{next:#}");
    assert!(
        count(&next, "bytes_stored") * 10 < count(&report, "bytes_stored"),
        "{next:#}"
    );
    let target = dst.dir("restored-2");
    dst.restore("latest", &target, &[]);
    assert_same_tree(&src.env.path("store"), &target.join("store"));
}

#[test]
fn host_and_tag_filters_and_named_snapshots_select_what_is_copied() {
    let src = Source::new();
    let a1 = src.backup(&["--host", "a", "--tag", "daily"]);
    let b = src.backup(&["--host", "b", "--tag", "weekly"]);
    let a2 = src.backup(&["--host", "a", "--tag", "weekly"]);
    let id = |v: &Value| v["snapshot_id"].as_str().unwrap().to_string();
    let dst = related(&src);

    let r = copy(&src, &dst, &["--host", "a"]);
    let originals = |dst: &Env| -> Vec<String> {
        let mut v: Vec<String> = dst
            .snapshots(&[])
            .iter()
            .map(|s| s["original"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(count(&r, "snapshots_copied"), 2);
    let mut want = vec![id(&a1), id(&a2)];
    want.sort();
    assert_eq!(originals(&dst), want);

    let r = copy(&src, &dst, &["--tag", "weekly"]);
    assert_eq!(count(&r, "snapshots_copied"), 1);
    assert_eq!(r["copied"][0]["id"], id(&b).as_str());
    assert_eq!(r["already_present"], serde_json::json!([id(&a2)]));

    // A named snapshot is copied whatever the filters; an unknown one is an error.
    let other = related(&src);
    let r = copy(&src, &other, &[&id(&b)[..8]]);
    assert_eq!(count(&r, "snapshots_copied"), 1);
    assert_eq!(other.snapshots(&[])[0]["hostname"], "b");
    let err = other.fails(1, from(&src, &other, &["copy", "abcdef12"]));
    assert!(err.contains("no snapshot matches"), "{err}");
}

#[test]
fn a_dry_run_writes_nothing_and_predicts_the_copy() {
    let src = Source::new();
    src.backup(&[]);
    let dst = related(&src);
    let before = dst.repo_contents();
    let dry = copy(&src, &dst, &["--dry-run"]);
    assert_eq!(
        dst.repo_contents(),
        before,
        "a dry run changed the destination"
    );
    assert_eq!(dry["dry_run"], true);
    assert_eq!(count(&dry, "snapshots_copied"), 1);
    assert!(dry["copied"][0]["copy"].is_null());
    let text = dst.ok(from(&src, &dst, &["copy", "--dry-run"]));
    assert!(text.contains("would copy 1 snapshots"), "{text}");
    assert_eq!(dst.repo_contents(), before);

    let real = copy(&src, &dst, &[]);
    assert_eq!(count(&real, "blobs_copied"), count(&dry, "blobs_copied"));
    assert_eq!(count(&real, "bytes_copied"), count(&dry, "bytes_copied"));
    assert_eq!(dst.snapshots(&[]).len(), 1);
}

#[test]
fn bad_sources_and_options_fail_with_their_exit_codes() {
    let src = Source::new();
    src.backup(&[]);
    let dst = related(&src);
    let repo = src.env.repo.clone().into_os_string();
    let run = |args: &[&str], from_password: &str| {
        let mut c = dst.cmd();
        c.env("BACKSTOCK_FROM_PASSWORD", from_password)
            .args(args)
            .arg("--from-repo")
            .arg(&repo);
        c
    };

    let out = exit_with(&mut run(&["copy"], "not the password"), 12);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrong password") && err.contains("source repository"),
        "{err}"
    );

    let missing = dst.path("no-such-repo");
    let out = exit_with(
        dst.cmd()
            .env("BACKSTOCK_FROM_PASSWORD", SRC_PASSWORD)
            .args(["copy", "--from-repo"])
            .arg(&missing),
        10,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("source repository"), "{err}");

    // The destination as its own source.
    let err = exit_with(
        dst.cmd()
            .env("BACKSTOCK_FROM_PASSWORD", PASSWORD)
            .arg("copy")
            .arg("--from-repo")
            .arg(&dst.repo),
        1,
    );
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(err.contains("same repository"), "{err}");

    // init: --from-repo alone, and --copy-chunker-params alone, are refused; nothing is created.
    let fresh = Env::new();
    let err = fresh.fails(1, from(&src, &fresh, &["init"]));
    assert!(err.contains("--copy-chunker-params"), "{err}");
    let err = fresh.fails(1, ["init", "--copy-chunker-params"]);
    assert!(err.contains("--from-repo"), "{err}");
    assert!(!fresh.repo.exists());
    // A wrong source password makes no repository either.
    exit_with(
        fresh
            .cmd()
            .env("BACKSTOCK_FROM_PASSWORD", "wrong")
            .args(["init", "--copy-chunker-params", "--from-repo"])
            .arg(&repo),
        12,
    );
    assert!(!fresh.repo.exists());
    assert_eq!(dst.snapshots(&[]).len(), 0, "nothing was copied");
}

#[test]
fn the_source_can_be_given_by_environment_variables() {
    let src = Source::new();
    let snap = src.backup(&[]);
    let dst = Env::new();
    let with_env = |c: &mut assert_cmd::Command| {
        c.env("BACKSTOCK_FROM_REPOSITORY", &src.env.repo)
            .env("BACKSTOCK_FROM_PASSWORD", SRC_PASSWORD);
    };
    let mut init = dst.cmd();
    with_env(&mut init);
    let out = exit_with(init.args(["--json", "init", "--copy-chunker-params"]), 0);
    let init: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(init["related_to"], src.json(&["cat", "config"])["id"]);

    let mut c = dst.cmd();
    with_env(&mut c);
    let out = exit_with(c.args(["--json", "copy"]), 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["related"], true);
    assert_eq!(report["copied"][0]["id"], snap["snapshot_id"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(SRC_PASSWORD));

    // BACKSTOCK_FROM_PASSWORD_FILE, and it wins over BACKSTOCK_FROM_PASSWORD.
    let file = password_file(&dst);
    let out = exit_with(
        dst.cmd()
            .env("BACKSTOCK_FROM_REPOSITORY", &src.env.repo)
            .env("BACKSTOCK_FROM_PASSWORD", "wrong")
            .env("BACKSTOCK_FROM_PASSWORD_FILE", &file)
            .args(["--json", "copy"]),
        0,
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["already_present"],
        serde_json::json!([snap["snapshot_id"]])
    );
    // With BACKSTOCK_FROM_REPOSITORY set, init without --copy-chunker-params is refused, as
    // restic refuses it.
    let other = Env::new();
    let err = exit_with(
        other
            .cmd()
            .env("BACKSTOCK_FROM_REPOSITORY", &src.env.repo)
            .arg("init"),
        1,
    );
    assert!(String::from_utf8_lossy(&err.stderr).contains("BACKSTOCK_FROM_REPOSITORY"));
}

/// restic's `--from-repository-file` and `--from-password-command`, for init and copy.
#[test]
fn the_source_can_be_named_by_a_file_and_unlocked_by_a_command() {
    let src = Source::new();
    let snap = src.backup(&[]);
    let dst = Env::new();
    let loc = dst.path("from-location");
    fs::write(&loc, format!("{}\n", src.env.repo.display())).unwrap();
    let pw = password_file(&dst);
    let command = format!("cat '{}'", pw.to_string_lossy());
    let args = |cmd: &[&str]| -> Vec<OsString> {
        let mut a: Vec<OsString> = cmd.iter().map(OsString::from).collect();
        a.extend([
            "--from-repository-file".into(),
            loc.clone().into_os_string(),
            "--from-password-command".into(),
            command.clone().into(),
        ]);
        a
    };
    let init = dst.json(args(&["--json", "init", "--copy-chunker-params"]));
    assert_eq!(init["related_to"], src.json(&["cat", "config"])["id"]);
    let report = dst.json(args(&["--json", "copy"]));
    assert_eq!(report["copied"][0]["id"], snap["snapshot_id"]);
    // Each conflicts with its sibling, as in restic.
    let mut both: Vec<OsString> = vec!["copy".into(), "--from-repo".into()];
    both.push(src.env.repo.clone().into_os_string());
    both.extend([
        "--from-repository-file".into(),
        loc.clone().into_os_string(),
    ]);
    let out = dst.run(both);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    // A failing command names the program, not its arguments.
    let mut bad = from(&src, &dst, &["copy"]);
    bad.truncate(bad.len() - 2);
    bad.extend(["--from-password-command".into(), "false secret-arg".into()]);
    let out = dst.run(bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains("false") && !err.contains("secret-arg"),
        "{err}"
    );
}

/// The source is read under a shared lock and the destination written under a backup's: an
/// exclusive lock (a prune) on either stops the copy with exit 11 before anything is written, and
/// a copy leaves no lock behind in either repository.
#[test]
fn a_prune_in_either_repository_stops_the_copy_with_exit_11() {
    use backstock::repository::lock::LockKind;
    use backstock::repository::{OpenOptions, Repository};
    let src = Source::new();
    src.backup(&[]);
    let dst = related(&src);
    let open = |env: &Env, password: &str| {
        Repository::open(
            std::sync::Arc::new(backstock::LocalBackend::new(&env.repo)),
            password.as_bytes(),
            &OpenOptions {
                no_cache: true,
                ..Default::default()
            },
        )
        .unwrap()
    };
    for (locked, password) in [(&src.env, SRC_PASSWORD), (&dst, PASSWORD)] {
        let repo = open(locked, password);
        let guard = repo.lock(LockKind::Exclusive).unwrap();
        let err = dst.fails(11, from(&src, &dst, &["copy"]));
        assert!(err.contains("locked"), "{err}");
        drop(guard);
    }
    assert!(dst.snapshots(&[]).is_empty());
    assert!(dst.names_in("data").is_empty());
    copy(&src, &dst, &[]);
    assert!(src.env.names_in("locks").is_empty());
    assert!(dst.names_in("locks").is_empty());
    // A shared lock on the source (a backup running there) does not stop it.
    let repo = open(&src.env, SRC_PASSWORD);
    let _shared = repo.lock(LockKind::Append).unwrap();
    write(&src.env.path("store/new.json"), product_json("new", 300));
    src.backup(&[]);
    assert_eq!(count(&copy(&src, &dst, &[]), "snapshots_copied"), 1);
}

/// Snapshots an older backstock wrote (the committed fixtures, whose snapshots have no `original`)
/// copy into a related repository (of the fixture's config version) and into an unrelated one,
/// and restore to their manifests there.
#[test]
fn snapshots_of_committed_old_repositories_copy_and_restore() {
    use crate::compat::{fixtures, hashed_files, manifest};
    for (name, version) in [("repo-v1", 1), ("repo-v2", 2)] {
        let holder = Env::new();
        let src_repo = holder.path("fixture");
        copy_dir(&fixtures().join(name), &src_repo);
        let password = fixtures().join(format!("{name}.password"));
        let from_args = |dst: &Env, args: &[&str]| {
            let mut c = dst.cmd();
            c.args(args)
                .arg("--from-repo")
                .arg(&src_repo)
                .arg("--from-password-file")
                .arg(&password);
            c
        };
        let related = Env::new();
        exit_with(
            &mut from_args(&related, &["init", "--copy-chunker-params"]),
            0,
        );
        assert_eq!(
            related.json(["--json", "cat", "config"])["version"],
            version
        );
        for (dst, is_related) in [(related, true), (Env::init(), false)] {
            let out = exit_with(&mut from_args(&dst, &["--json", "copy"]), 0);
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["related"], is_related, "{name}");
            assert_eq!(count(&report, "snapshots_copied"), 2, "{name}");
            let expected = manifest(name);
            for snap in dst.snapshots(&[]) {
                let tag = snap["tags"][0].as_str().unwrap();
                let target = dst.dir(&format!("restore-{tag}"));
                dst.restore(snap["id"].as_str().unwrap(), &target, &[]);
                assert_eq!(hashed_files(&target), expected[tag], "{name} {tag}");
                assert!(is_hex_id(&snap["original"]), "{snap:#}");
            }
            let checked = dst.ok(["check", "--read-data"]);
            assert!(checked.contains("no errors were found"), "{checked}");
        }
    }
}
