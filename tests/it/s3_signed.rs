//! `s3:` repositories against an S3 server that checks every request's SigV4 signature: `s3s-fs`
//! (crates.io `s3s-fs`, `cargo install s3s-fs --version 0.14.1 --features binary --locked`; `.ci/run`
//! installs it), one per test, on loopback, keeping each bucket as a directory. moto (tests/it/s3.rs)
//! accepts any signature; these tests show the requests backstock signs are the ones S3 accepts,
//! listings, ranges and multipart uploads included, and that a wrong secret fails at once with a
//! message that says so. Without s3s-fs these tests fail; they do not skip.

use crate::s3::{cmd, ok, restore_and_compare};
use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every kind of request backstock sends, signed and checked: bucket creation, paged listings,
/// multipart uploads (6 MiB parts of a pack above the 8 MiB threshold), ranged reads, deletes.
#[test]
fn a_signature_checking_server_accepts_every_request_of_a_full_cycle() {
    let s = S3Server::s3s_fs();
    let mut env = Env::new();
    env.repo = PathBuf::from(s.location("signed/host-a"));
    let store = env.path("store");
    write(
        &store.join("media/big.bin"),
        pseudo_random("signed big", 20 << 20),
    );
    write(
        &store.join("products/1.json"),
        product_json("signed 1", 5_000),
    );
    write(
        &store.join("products/2.json"),
        product_json("signed 2", 400_000),
    );
    write(&store.join("empty.txt"), "");
    let small = [
        ("BACKSTOCK_S3_LIST_PAGE_SIZE", "2"),
        ("BACKSTOCK_S3_MULTIPART_THRESHOLD", "8388608"),
        ("BACKSTOCK_S3_PART_SIZE", "6291456"),
    ];
    // A pack size above the threshold, so that packs go up in parts.
    ok(&env, &s, &small, &["init", "--pack-size", "12M"]);
    assert!(
        s.root.join("signed/host-a/config").is_file(),
        "the config is not in the bucket's directory"
    );
    ok(&env, &s, &small, &["backup", "store"]);
    let packs: Vec<u64> = walk_sizes(&s.root.join("signed/host-a/data"));
    assert!(
        packs.iter().any(|&n| n > 8 << 20),
        "no pack above the multipart threshold: {packs:?}"
    );
    restore_and_compare(&env, &s, &store, "restored");
    ok(&env, &s, &small, &["check", "--read-data"]);

    write(
        &store.join("products/3.json"),
        product_json("signed 3", 9_000),
    );
    std::fs::remove_file(store.join("media/big.bin")).unwrap();
    ok(&env, &s, &small, &["backup", "store"]);
    ok(&env, &s, &small, &["forget", "--keep-last", "1", "--prune"]);
    env.fresh_cache();
    restore_and_compare(&env, &s, &store, "restored-again");
    ok(&env, &s, &small, &["check", "--read-data"]);
    let out = ok(&env, &s, &[], &["--json", "snapshots"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{out}");
}

/// A wrong secret: the server refuses the signature, and the command fails at once (without
/// retrying) with a message that points at the credentials and does not show them.
#[test]
fn a_wrong_secret_fails_at_once_and_says_so() {
    let s = S3Server::s3s_fs();
    let mut env = Env::new();
    env.repo = PathBuf::from(s.location("wrong"));
    ok(&env, &s, &[], &["init"]);
    let wrong = "wrong-secret-0123456789abcdef";
    let out = cmd(&env, &s, &[("AWS_SECRET_ACCESS_KEY", wrong)])
        .args(["-v", "snapshots"])
        .output()
        .expect("running backstock");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert_no_panic(&stderr);
    assert!(!stderr.contains(wrong), "{stderr}");
    // The first request is a HEAD, whose answer has no body to name SignatureDoesNotMatch.
    assert!(
        stderr.contains("403") || stderr.contains("SignatureDoesNotMatch"),
        "the message does not say the server refused: {stderr}"
    );
    assert!(
        stderr.contains("AWS_SECRET_ACCESS_KEY"),
        "the message does not say what to check: {stderr}"
    );
    // Not retried: one refusal is final (each retry is announced as "trying again").
    assert!(
        !stderr.contains("trying again"),
        "a refused signature was retried: {stderr}"
    );
}

/// Sizes of the files under `dir`, at any depth.
fn walk_sizes(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push(m.len());
            }
        }
    }
    out
}

/// Three hosts back up into one S3 repository at the same time, twice, while a `forget --prune`
/// started in the middle waits for its turn (`--retry-lock`). Every snapshot the backups reported
/// restores byte for byte, and `check --read-data` is clean: the lock rules hold over S3, where a
/// lock is an object like any other.
#[test]
fn several_hosts_back_up_into_one_repository_while_a_prune_waits() {
    let s = S3Server::s3s_fs();
    let mut env = Env::new();
    env.repo = PathBuf::from(s.location("shared/repo"));
    ok(&env, &s, &[], &["init"]);
    let hosts = ["shop-a", "shop-b", "shop-c"];
    // Each host has its own directory and cache, as separate machines do.
    let host_envs: Vec<Env> = hosts
        .iter()
        .map(|_| {
            let mut e = Env::new();
            e.repo = env.repo.clone();
            e
        })
        .collect();
    // Each host's tree shares a large file with the others, so their backups race to add the
    // same blobs.
    let shared = pseudo_random("many hosts shared", 6 << 20);
    for (h, he) in hosts.iter().zip(&host_envs) {
        let d = he.path("store");
        write(&d.join("media/shared.bin"), &shared);
        write(&d.join("own.bin"), pseudo_random(h, 3 << 20));
        write(&d.join("products/p.json"), product_json(h, 20_000));
    }
    let mut reported: Vec<(String, String, PathBuf)> = Vec::new();
    for round in 0..2 {
        let mut children = Vec::new();
        for (h, he) in hosts.iter().zip(&host_envs) {
            let d = he.path("store");
            write(
                &d.join(format!("round-{round}.json")),
                product_json(&format!("{h} {round}"), 4_000),
            );
            let child = cmd(he, &s, &[])
                .args([
                    "--retry-lock",
                    "5m",
                    "--json",
                    "backup",
                    "store",
                    "--host",
                    h,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting a backup");
            children.push((*h, d, child));
        }
        // The prune comes while the backups run, and must wait for them.
        let prune = cmd(&env, &s, &[])
            .args([
                "--retry-lock",
                "5m",
                "forget",
                "--keep-last",
                "1",
                "--prune",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting forget --prune");
        for (h, d, child) in children {
            let out = child.wait_with_output().unwrap();
            expect_code(&out, 0, &["backup".into(), h.into()]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let id = v["snapshot_id"].as_str().expect("snapshot_id").to_string();
            // What this host had when it backed up; later rounds change the tree.
            let copy = env.path(&format!("expected/{h}-{round}"));
            copy_tree(&d, &copy);
            reported.push((h.to_string(), id, copy));
        }
        let out = prune.wait_with_output().unwrap();
        expect_code(&out, 0, &["forget".into(), "--prune".into()]);
    }
    // The last round's snapshots are the newest of each host, which --keep-last 1 keeps (per
    // host and paths): each restores as its host had it.
    let out = ok(&env, &s, &[], &["--json", "snapshots"]);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    for (h, id, expected) in reported
        .iter()
        .filter(|(_, id, _)| ids.contains(&id.as_str()))
    {
        let target = env.dir(&format!("restored-{h}-{}", &id[..8]));
        ok(
            &env,
            &s,
            &[],
            &["restore", id, "--target", target.to_str().unwrap()],
        );
        assert_same_tree(expected, &target.join("store"));
    }
    // Every host's newest snapshot survived both prunes.
    for h in hosts {
        let last = reported
            .iter()
            .rev()
            .find(|(host, _, _)| host == h)
            .unwrap();
        assert!(
            ids.contains(&last.1.as_str()),
            "{h}'s newest snapshot is gone"
        );
    }
    ok(&env, &s, &[], &["check", "--read-data"]);
}

/// Copies a directory tree with its modes and times (`cp -a`), as the snapshot recorded them.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

/// The offsite copy: a local repository's snapshots copied into a related S3 repository. The
/// copy restores identically from S3, checks clean with every byte read, and a second run copies
/// nothing; the source password reaches `copy` only through `BACKSTOCK_FROM_PASSWORD`.
#[test]
fn snapshots_copy_from_a_local_repository_into_a_related_s3_one() {
    let s = S3Server::s3s_fs();
    let local = Env::new();
    local.ok(["init"]);
    let store = local.path("store");
    write(
        &store.join("media/a.bin"),
        pseudo_random("offsite a", 5 << 20),
    );
    write(
        &store.join("products/1.json"),
        product_json("offsite 1", 30_000),
    );
    local.ok(["backup", "store"]);
    write(
        &store.join("products/2.json"),
        product_json("offsite 2", 30_000),
    );
    local.ok(["backup", "store"]);

    let mut offsite = Env::new();
    offsite.repo = PathBuf::from(s.location("offsite/shop"));
    let src = local.repo.to_str().unwrap().to_string();
    let from = [("BACKSTOCK_FROM_PASSWORD", PASSWORD)];
    ok(
        &offsite,
        &s,
        &from,
        &["init", "--from-repo", &src, "--copy-chunker-params"],
    );
    let out = ok(
        &offsite,
        &s,
        &from,
        &["--json", "copy", "--from-repo", &src],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("copy --json");
    assert_eq!(v["related"], serde_json::Value::Bool(true), "{out}");
    assert_eq!(v["copied"].as_array().map(Vec::len), Some(2), "{out}");
    ok(&offsite, &s, &[], &["check", "--read-data"]);
    restore_and_compare(&offsite, &s, &store, "restored");
    let again = ok(
        &offsite,
        &s,
        &from,
        &["--json", "copy", "--from-repo", &src],
    );
    let v: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(v["copied"].as_array().map(Vec::len), Some(0), "{again}");
    assert_eq!(v["blobs_copied"], 0, "{again}");
}

/// The create-only write itself: a second create of a key is refused by the server
/// (`If-None-Match: *` answered 412) and leaves the first file as it was. (Racing creates are
/// tested on a local directory, it::concurrent: s3s-fs 0.14.1 checks the condition before it
/// writes, not atomically as S3 does, so a race there would test the server.)
#[test]
fn a_create_only_write_never_replaces_a_file() {
    use backstock::backend::{Backend, FileType, S3Options};
    let s = S3Server::s3s_fs();
    let b = s.backend("create-only/repo", S3Options::default());
    b.create().unwrap();
    assert!(b.create_file(FileType::Config, "config", b"first").unwrap());
    assert!(!b
        .create_file(FileType::Config, "config", b"second")
        .unwrap());
    assert_eq!(b.read(FileType::Config, "config").unwrap(), b"first");
    assert_eq!(
        std::fs::read(s.root.join("create-only/repo/config")).unwrap(),
        b"first"
    );
}
