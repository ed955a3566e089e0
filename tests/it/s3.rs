//! `s3:` repositories against a real S3 server: moto's (`moto_server -H 127.0.0.1 -p PORT`, PyPI
//! `moto[s3]` with `flask` and `flask-cors`), one per test, on loopback. moto must be installed
//! (`.ci/run` installs it): without it these tests fail, they do not skip.
//!
//! moto does not check signatures (it accepted a wrong secret in the research for the offsite
//! issue), so here a wrong secret is tested only for not being shown; tests/it/s3_signed.rs runs
//! against s3s-fs, which checks every signature.

use crate::util::*;
use backstock::backend::{Backend, FileType, S3Options};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The binary with the environment of an S3 repository: credentials, no other AWS settings.
pub(crate) fn cmd(env: &Env, moto: &S3Server, extra: &[(&str, &str)]) -> Command {
    let mut c = env.std_cmd();
    for var in [
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "BACKSTOCK_S3_URL_STYLE",
        "BACKSTOCK_S3_LIST_PAGE_SIZE",
        "BACKSTOCK_S3_MULTIPART_THRESHOLD",
        "BACKSTOCK_S3_PART_SIZE",
        "BACKSTOCK_S3_STORAGE_CLASS_DATA",
        "BACKSTOCK_S3_STORAGE_CLASS_METADATA",
    ] {
        c.env_remove(var);
    }
    c.env("AWS_ACCESS_KEY_ID", moto.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret);
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

/// Runs a command; asserts the secret is in neither output stream.
pub(crate) fn run(env: &Env, moto: &S3Server, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let out = cmd(env, moto, extra)
        .args(args)
        .output()
        .expect("running backstock");
    for (name, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let s = String::from_utf8_lossy(s);
        assert!(
            !s.contains(&moto.secret),
            "the secret key is in {name} of {args:?}:\n{s}"
        );
    }
    out
}

/// Runs a command, asserts exit 0, returns stdout.
pub(crate) fn ok(env: &Env, moto: &S3Server, extra: &[(&str, &str)], args: &[&str]) -> String {
    let out = run(env, moto, extra, args);
    expect_code(&out, 0, &args.iter().map(Into::into).collect::<Vec<_>>());
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs a command, asserts a non-zero exit without a panic, returns stderr.
pub(crate) fn fails(env: &Env, moto: &S3Server, extra: &[(&str, &str)], args: &[&str]) -> String {
    let out = run(env, moto, extra, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(0), "{args:?} succeeded:\n{stderr}");
    assert_no_panic(&stderr);
    stderr
}

pub(crate) fn build_tree(d: &Path) {
    write(&d.join("media/big.bin"), pseudo_random("s3 big", 12 << 20));
    write(&d.join("products/1.json"), product_json("s3 one", 2_000));
    write(&d.join("products/2.json"), product_json("s3 two", 300_000));
    write(&d.join("empty.txt"), "");
    std::fs::create_dir_all(d.join("empty dir")).unwrap();
}

pub(crate) fn backup(env: &Env, moto: &S3Server, extra: &[(&str, &str)]) -> String {
    let out = ok(env, moto, extra, &["--json", "backup", "store"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("backup --json");
    v["snapshot_id"].as_str().expect("snapshot_id").to_string()
}

pub(crate) fn restore_and_compare(env: &Env, moto: &S3Server, store: &Path, target: &str) {
    let target = env.dir(target);
    let t = target.to_str().unwrap();
    ok(env, moto, &[], &["restore", "latest", "--target", t]);
    assert_same_tree(store, &target.join("store"));
}

fn snapshot_count(env: &Env, moto: &S3Server) -> usize {
    let out = ok(env, moto, &[], &["--json", "snapshots"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("snapshots --json");
    v.as_array().expect("an array").len()
}

#[test]
fn s3_repository_end_to_end() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    env.repo = PathBuf::from(moto.location("backups/host-a/repo"));
    let store = env.path("store");
    build_tree(&store);

    // The bucket does not exist yet: init creates it.
    let init = ok(&env, &moto, &[], &["init"]);
    assert!(
        init.contains("s3:http://127.0.0.1:") && init.contains("/backups/host-a/repo"),
        "{init}"
    );
    let err = fails(&env, &moto, &[], &["init"]);
    assert!(err.contains("a repository already exists"), "{err}");
    // A second repository in the same (now existing) bucket, under another prefix.
    let mut other = Env::new();
    other.repo = PathBuf::from(moto.location("backups/host-b"));
    ok(&other, &moto, &[], &["init"]);

    let first = backup(&env, &moto, &[]);
    assert_eq!(snapshot_count(&env, &moto), 1);
    assert_eq!(snapshot_count(&other, &moto), 0);
    restore_and_compare(&env, &moto, &store, "restored");
    ok(&env, &moto, &[], &["check", "--read-data"]);

    write(
        &store.join("products/3.json"),
        product_json("s3 three", 50_000),
    );
    std::fs::remove_file(store.join("products/1.json")).unwrap();
    let second = backup(&env, &moto, &[]);
    assert_ne!(first, second);
    assert_eq!(snapshot_count(&env, &moto), 2);

    ok(&env, &moto, &[], &["forget", "--keep-last", "1", "--prune"]);
    let out = ok(&env, &moto, &[], &["--json", "snapshots"]);
    let left: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], second);

    // From another machine's point of view (nothing from the cache).
    env.fresh_cache();
    restore_and_compare(&env, &moto, &store, "restored-again");
    ok(&env, &moto, &[], &["check", "--read-data"]);
    // Every PUT carried its CRC32 with the algorithm named (signed, so both are in the signed
    // headers), which object lock takes as it takes Content-MD5.
    let log = moto.log_text();
    let puts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"PUT /backups/host-"))
        .collect();
    assert!(puts.len() > 5, "{log}");
    for l in puts {
        assert!(
            l.contains("x-amz-checksum-crc32;x-amz-sdk-checksum-algorithm"),
            "a PUT without its CRC32: {l}"
        );
    }
}

/// Small pages and a small multipart threshold through the binary: several listing pages per
/// directory, packs uploaded in parts, and everything reads back.
#[test]
fn s3_paged_listings_and_multipart_uploads_through_the_binary() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    env.repo = PathBuf::from(moto.location("paged"));
    let store = env.path("store");
    build_tree(&store);
    let knobs = [
        ("BACKSTOCK_S3_LIST_PAGE_SIZE", "1"),
        // S3 (and moto) refuse parts under 5 MiB but the last.
        ("BACKSTOCK_S3_MULTIPART_THRESHOLD", "1048576"),
        ("BACKSTOCK_S3_PART_SIZE", "5242880"),
        // For stores that ignore x-amz-checksum-*.
        ("BACKSTOCK_S3_CHECKSUM", "md5"),
    ];
    ok(&env, &moto, &knobs, &["init"]);
    backup(&env, &moto, &knobs);
    write(
        &store.join("products/4.json"),
        product_json("s3 four", 9_000),
    );
    backup(&env, &moto, &knobs);
    env.fresh_cache();
    let out = ok(&env, &moto, &knobs, &["check", "--read-data"]);
    assert!(out.contains("no errors were found"), "{out}");
    // What the commands with the settings above sent (the restore below has none of them).
    let with_knobs = moto.log_text();
    restore_and_compare(&env, &moto, &store, "restored");
    let log = moto.log_text();
    let pages = log.matches("continuation-token=").count();
    let parts = log.matches("partNumber=").count();
    let completes = log
        .lines()
        .filter(|l| l.contains("\"POST /paged/") && l.contains("uploadId="))
        .count();
    assert!(pages >= 3, "only {pages} continued listing pages:\n{log}");
    assert!(
        parts >= 3 && completes >= 1,
        "{parts} parts, {completes} completed multipart uploads:\n{log}"
    );
    // Writes of files (not the bucket's creation, which has no body).
    let puts: Vec<&str> = with_knobs
        .lines()
        .filter(|l| l.contains("\"PUT /paged/") && !l.contains("\"PUT /paged/?"))
        .collect();
    assert!(puts.len() > 5, "{with_knobs}");
    for l in puts {
        assert!(
            l.contains("content-md5") && !l.contains("x-amz-checksum"),
            "a PUT without Content-MD5 or with a CRC32: {l}"
        );
    }
    eprintln!("{pages} continued listing pages, {parts} parts in {completes} multipart uploads");
}

/// The library's backend against moto: paging of a listing, a multipart upload read back whole
/// and in ranges across part boundaries, stat and modified, deletes.
#[test]
fn s3_backend_pages_listings_and_uploads_in_parts() {
    let moto = S3Server::moto();
    let opts = S3Options {
        list_page_size: 3,
        multipart_threshold: 1 << 20,
        part_size: 5 << 20,
        ..S3Options::default()
    };
    let b = moto.backend("lib/p", opts);
    b.create().unwrap();
    // Eleven index files: four pages of at most three keys.
    let mut names: Vec<String> = (0..11).map(|i| format!("{i:064x}")).collect();
    for (i, n) in names.iter().enumerate() {
        b.write(FileType::Index, n, &vec![i as u8; i + 1]).unwrap();
    }
    // Not the repository's: a dot file, a deeper key (put unsigned: moto takes them), another
    // type's directory.
    let http = reqwest::blocking::Client::new();
    for key in ["lib/p/index/.hidden", "lib/p/index/sub/deep"] {
        let url = format!("{}/{key}", moto.endpoint);
        let status = http.put(&url).body("x").send().unwrap().status();
        assert!(status.is_success(), "{key}: {status}");
    }
    b.write(FileType::Snapshot, "00aa", b"x").unwrap();
    let listed = b.list(FileType::Index).unwrap();
    names.sort();
    let want: Vec<(String, u64)> = names
        .iter()
        .map(|n| {
            let i = usize::from_str_radix(n, 16).unwrap();
            (n.clone(), i as u64 + 1)
        })
        .collect();
    assert_eq!(listed, want);
    let continued = moto.log_text().matches("continuation-token=").count();
    // Thirteen keys under index/ (the two above too): five pages.
    assert_eq!(continued, 4, "{}", moto.log_text());

    // 12 MiB + 1 in parts of 5 MiB, 5 MiB and 2 MiB + 1.
    let data = pseudo_random("multipart", (12 << 20) + 1);
    let name = "7f".repeat(32);
    b.write(FileType::Pack, &name, &data).unwrap();
    let log = moto.log_text();
    assert_eq!(log.matches("partNumber=").count(), 3, "{log}");
    assert_eq!(
        b.stat(FileType::Pack, &name).unwrap(),
        Some(data.len() as u64)
    );
    assert_eq!(b.read(FileType::Pack, &name).unwrap(), data);
    let at = (5 << 20) - 10;
    assert_eq!(
        b.read_range(FileType::Pack, &name, at, 20).unwrap(),
        &data[at as usize..at as usize + 20]
    );
    let end = data.len() as u64 - 7;
    assert_eq!(
        b.read_range(FileType::Pack, &name, end, 7).unwrap(),
        &data[end as usize..]
    );
    let e = b
        .read_range(FileType::Pack, &name, end, 8)
        .expect_err("a range past the end");
    assert!(e.to_string().contains("got 7 bytes"), "{e}");
    let age = b
        .modified(FileType::Pack, &name)
        .unwrap()
        .expect("Last-Modified")
        .elapsed()
        .unwrap_or_default();
    assert!(age < Duration::from_secs(600), "{age:?}");

    // Missing files: NotFound on read, None on stat, fine on delete.
    let missing = "ab".repeat(32);
    assert!(b.read(FileType::Pack, &missing).unwrap_err().is_not_found());
    assert_eq!(b.stat(FileType::Pack, &missing).unwrap(), None);
    assert_eq!(b.modified(FileType::Pack, &missing).unwrap(), None);
    b.delete(FileType::Pack, &missing).unwrap();
    b.delete(FileType::Pack, &name).unwrap();
    assert_eq!(b.stat(FileType::Pack, &name).unwrap(), None);
    assert!(b.list(FileType::Pack).unwrap().is_empty());
    // A file larger than any valid file of its type is refused before its body is read.
    b.write(FileType::Key, "big", &vec![0u8; 2048]).unwrap();
    let e = b.read(FileType::Key, "big").unwrap_err();
    assert_eq!(
        e.kind(),
        backstock::backend::BackendErrorKind::Refused,
        "{e}"
    );
    // A second create finds the repository.
    b.write(FileType::Config, "config", b"c").unwrap();
    let e = b.create().unwrap_err();
    assert!(e.to_string().contains("a repository already exists"), "{e}");
}

#[test]
fn s3_secret_is_never_shown_and_missing_credentials_are_explained() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    env.repo = PathBuf::from(moto.location("secret"));
    write(&env.path("store/a.txt"), "a");
    let init = ok(&env, &moto, &[], &["--json", "init"]);
    let v: serde_json::Value = serde_json::from_str(&init).unwrap();
    assert_eq!(v["repository"], moto.location("secret"));
    ok(&env, &moto, &[], &["-vv", "backup", "store"]);
    ok(&env, &moto, &[], &["-vv", "--timeout", "30s", "snapshots"]);
    // -vvv shows the HTTP client's own trace too; a session token (sent in the presigned URL's
    // query) does not show either.
    let token = format!("token{:032x}", rand::random::<u128>());
    let out = run(
        &env,
        &moto,
        &[("AWS_SESSION_TOKEN", &token)],
        &["-vvv", "snapshots"],
    );
    expect_code(&out, 0, &[]);
    for s in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(s).contains(&token));
    }
    ok(&env, &moto, &[], &["snapshots", "--help"]);
    // Failures that name the repository: no repository there, a bad location, a bad setting.
    let elsewhere = moto.location("secret/elsewhere");
    let err = fails(&env, &moto, &[], &["-r", &elsewhere, "snapshots"]);
    assert!(err.contains("no repository"), "{err}");
    let err = fails(&env, &moto, &[], &["-r", "s3:ftp://host/b", "snapshots"]);
    assert!(err.contains("http://"), "{err}");
    let bad_style = [("BACKSTOCK_S3_URL_STYLE", "dns")];
    let err = fails(&env, &moto, &bad_style, &["snapshots"]);
    assert!(err.contains("BACKSTOCK_S3_URL_STYLE"), "{err}");
    // No secret at all: the message says which variables to set.
    let out = cmd(&env, &moto, &[])
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("snapshots")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    // A wrong secret: moto does not check signatures, so the request goes through here (the
    // message for a server that does check is tested against canned answers in
    // src/backend/s3/tests.rs); what matters here is that the wrong secret is not shown either.
    let out = cmd(&env, &moto, &[])
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-0123456789")
        .args(["-vvv", "snapshots"])
        .output()
        .unwrap();
    for s in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(s).contains("wrong-secret-0123456789"));
    }
}

/// Through the fault-injecting proxy (503 with `Retry-After: 0`, dropped connections, answers cut
/// in half, the first answer to each upload lost): everything gets through, byte-identical.
#[test]
fn s3_backups_and_restores_get_through_a_faulty_network() {
    let moto = S3Server::moto();
    let upstream = moto.endpoint.trim_start_matches("http://").to_string();
    let (port, faults) = fault_proxy(&upstream);
    let mut env = Env::new();
    env.repo = PathBuf::from(format!("s3:http://127.0.0.1:{port}/faulty/repo"));
    let store = env.path("store");
    build_tree(&store);
    ok(&env, &moto, &[], &["init"]);
    backup(&env, &moto, &[]);
    write(
        &store.join("products/3.json"),
        product_json("faulty three", 50_000),
    );
    backup(&env, &moto, &[]);
    env.fresh_cache();
    restore_and_compare(&env, &moto, &store, "restored");
    ok(&env, &moto, &[], &["check", "--read-data"]);
    ok(&env, &moto, &[], &["forget", "--keep-last", "1", "--prune"]);
    env.fresh_cache();
    restore_and_compare(&env, &moto, &store, "restored-again");
    let faults = faults.load(std::sync::atomic::Ordering::SeqCst);
    assert!(faults > 20, "only {faults} faults were injected");
    eprintln!("{faults} faults injected");
}

/// An unfinished multipart upload of a pack (what a backup killed during an upload leaves) is
/// found in moto's real listing and aborted by `unlock`, so its parts stop costing money. moto
/// answers every upload's `Initiated` with a fixed time in 2010, so here it is old enough; that a
/// young one is left alone (a writer may still be at it) is tested against canned answers in
/// `backend/s3/leftovers.rs`.
#[test]
fn unfinished_multipart_uploads_are_aborted() {
    let moto = S3Server::moto();
    let mut env = Env::new();
    env.repo = PathBuf::from(moto.location("backups/repo"));
    ok(&env, &moto, &[], &["init"]);
    let name = "ab".repeat(32);
    let http = reqwest::blocking::Client::new();
    // moto does not check signatures: an unsigned CreateMultipartUpload starts the upload.
    let started = http
        .post(format!(
            "{}/backups/repo/data/{name}?uploads",
            moto.endpoint
        ))
        .send()
        .unwrap();
    assert!(started.status().is_success(), "{:?}", started.status());
    let listed = || {
        http.get(format!("{}/backups?uploads", moto.endpoint))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    assert!(listed().contains(&name));
    let out = run(&env, &moto, &[], &["-v", "unlock"]);
    expect_code(&out, 0, &["unlock".into()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 unfinished multipart upload(s)"), "{err}");
    assert!(
        err.contains(&format!(
            "aborted an unfinished multipart upload of pack {name}"
        )),
        "{err}"
    );
    assert!(!listed().contains(&name), "{}", listed());
    // prune finds none left, and the repository is as it was.
    let out = run(&env, &moto, &[], &["-v", "prune"]);
    expect_code(&out, 0, &["prune".into()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("unfinished"));
    ok(&env, &moto, &[], &["check"]);
}
