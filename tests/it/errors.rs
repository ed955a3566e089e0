//! Failures: wrong password, missing repository, corrupted and truncated repository files, unreadable
//! input files, and `init` over an existing repository. Each gives its exit code and a message that
//! names the object, never a panic.

use crate::util::*;
use std::fs;

/// A repository with one backup of `make_store` at `<tmp>/store`; returns the snapshot ID.
fn store_backup() -> (Env, String) {
    let env = Env::init();
    make_store(&env.path("store"));
    let id = env.backup(&["store"]);
    (env, id)
}

#[test]
fn wrong_password_exits_12() {
    let (env, _) = store_backup();
    for args in [
        &["snapshots"][..],
        &["ls", "latest"],
        &["backup", "store"],
        &["cat", "config"],
    ] {
        let out = exit_with(
            env.cmd()
                .env("BACKSTOCK_PASSWORD", "not the password")
                .args(args),
            12,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("wrong password"), "{args:?}: {err}");
    }

    // The same through --password-file; the right password in a file works.
    let file = env.path("password.txt");
    for (password, code) in [("wrong\n", 12), (&*format!("{PASSWORD}\n"), 0)] {
        fs::write(&file, password).unwrap();
        exit_with(
            env.cmd()
                .env_remove("BACKSTOCK_PASSWORD")
                .arg("--password-file")
                .arg(&file)
                .arg("snapshots"),
            code,
        );
    }
    assert_eq!(env.snapshots(&[]).len(), 1, "no snapshot was added");

    // No password at all, and no terminal to ask on.
    let out = exit_with(
        env.cmd().env_remove("BACKSTOCK_PASSWORD").arg("snapshots"),
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password"));
}

#[test]
fn missing_repository_exits_10() {
    let env = Env::new();
    make_store(&env.path("store"));
    let empty = env.path("empty-dir");
    fs::create_dir(&empty).unwrap();
    for repo in [env.path("does/not/exist"), empty] {
        for args in [&["snapshots"][..], &["backup", "store"], &["ls", "latest"]] {
            let out = exit_with(env.cmd().env("BACKSTOCK_REPOSITORY", &repo).args(args), 10);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(repo.to_str().unwrap()), "{args:?}: {err}");
        }
    }
    assert!(!env.path("does/not/exist").exists(), "nothing was created");
    exit_with(
        env.cmd()
            .args(["-r", env.path("nope").to_str().unwrap(), "snapshots"]),
        10,
    );
}

/// The pack holding the first blob of `file` (a path in the latest snapshot): its path and ID.
fn pack_of(env: &Env, file: &str) -> (std::path::PathBuf, String) {
    let node = env.node("latest", file);
    let (pack, _) = env.find_blob(&ids(&node["content"])[0]);
    let id = pack.file_name().unwrap().to_string_lossy().into_owned();
    (pack, id)
}

/// Restores the latest snapshot with an empty cache; asserts exit 1 and returns target and stderr.
fn failing_restore(env: &mut Env) -> (std::path::PathBuf, String) {
    env.fresh_cache();
    let target = env.dir("restored");
    let err = env.fails(
        1,
        ["restore", "latest", "--target", target.to_str().unwrap()],
    );
    (target, err)
}

#[test]
fn corrupted_pack_byte_names_blob_pack_and_file() {
    let (mut env, _) = store_backup();
    // The blob of store/products/images/1.jpg (a single chunk: smaller than the minimum chunk size).
    let node = env.node("latest", "store/products/images/1.jpg");
    let blobs = ids(&node["content"]);
    assert_eq!(blobs.len(), 1, "{node}");
    let (pack, blob) = env.find_blob(&blobs[0]);
    assert_eq!(blob["blob_type"], "data", "{blob}");
    let pack_id = pack.file_name().unwrap().to_string_lossy().into_owned();
    // Inside the ciphertext, past the 24-byte nonce.
    flip_byte(&pack, blob["offset"].as_u64().unwrap() + 100);

    let (target, err) = failing_restore(&mut env);
    assert!(
        err.contains(&blobs[0]) || err.contains(&pack_id),
        "names neither blob nor pack:\n{err}"
    );
    assert!(
        err.contains("store/products/images/1.jpg"),
        "does not name the file:\n{err}"
    );
    // Everything else is restored.
    for ok in [
        "store/products/1.json",
        "store/products.jsonl",
        "store/orders.csv",
    ] {
        assert_eq!(entry(&target.join(ok)), entry(&env.path(ok)), "{ok}");
    }

    let err = env.fails(1, ["dump", "latest", "store/products/images/1.jpg"]);
    assert!(
        err.contains(&blobs[0]),
        "dump does not name the blob:\n{err}"
    );
}

#[test]
fn truncated_pack_is_reported() {
    let (mut env, _) = store_backup();
    let (pack, pack_id) = pack_of(&env, "store/products.jsonl");
    let len = fs::metadata(&pack).unwrap().len();
    chmod(&pack, 0o644);
    fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (_, err) = failing_restore(&mut env);
    assert!(err.contains(&pack_id), "does not name the pack:\n{err}");
}

#[test]
fn missing_pack_names_the_affected_files() {
    let (mut env, _) = store_backup();
    let (pack, pack_id) = pack_of(&env, "store/products.jsonl");
    fs::remove_file(&pack).unwrap();
    let (_, err) = failing_restore(&mut env);
    assert!(err.contains(&pack_id), "does not name the pack:\n{err}");
    assert!(
        err.contains("store/products.jsonl"),
        "does not name the file:\n{err}"
    );
}

#[test]
fn truncated_index_is_reported() {
    let (mut env, _) = store_backup();
    let indexes = env.names_in("index");
    assert_eq!(indexes.len(), 1);
    let path = env.repo.join("index").join(&indexes[0]);
    let bytes = fs::read(&path).unwrap();
    chmod(&path, 0o644);
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();

    env.fresh_cache();
    let target = env.dir("restored");
    let target = target.to_str().unwrap();
    for args in [
        &["ls", "latest"][..],
        &["--no-cache", "ls", "latest"],
        &["restore", "latest", "--target", target],
        &["dump", "latest", "store/orders.csv"],
        &["backup", "store"],
    ] {
        let err = env.fails(1, args);
        assert!(
            err.contains(&indexes[0]),
            "{args:?} does not name the index file:\n{err}"
        );
    }
    assert_eq!(env.snapshots(&[]).len(), 1, "no snapshot was added");
}

#[test]
fn unreadable_file_gives_exit_3_and_a_partial_snapshot() {
    let env = Env::init();
    let store = env.path("store");
    make_store(&store);
    // As root, permission bits do not stop reads: /proc/self/mem stats as an empty regular file and
    // reading it fails (EIO). Otherwise a file with mode 000 does.
    let unreadable = if is_root() {
        "/proc/self/mem".to_string()
    } else {
        let p = env.path("locked/secret.json");
        write(&p, "{}");
        chmod(&p, 0o000);
        p.to_str().unwrap().to_string()
    };
    let out = exit_with(
        env.cmd().args(["--json", "backup", "store", &unreadable]),
        3,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&unreadable),
        "does not name {unreadable}:\n{err}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["files_failed"], 1, "{report}");

    let snaps = env.snapshots(&[]);
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0]["id"], report["snapshot_id"]);
    let target = env.dir("restored");
    env.restore("latest:store", &target, &[]);
    assert_same_tree(&store, &target);
    if !is_root() {
        chmod(&env.path("locked/secret.json"), 0o644);
    }
}

#[test]
fn init_twice_fails_and_keeps_the_repository() {
    let (env, id) = store_backup();
    let before = env.repo_contents();
    let err = env.fails(1, ["init"]);
    assert!(err.contains("already exists"), "{err}");
    exit_with(
        env.cmd()
            .env("BACKSTOCK_PASSWORD", "another password")
            .arg("init"),
        1,
    );
    assert!(
        before == env.repo_contents(),
        "init changed the repository's files"
    );

    assert_eq!(env.snapshots(&[])[0]["id"], id.as_str());
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_same_tree(&env.path("store"), &target.join("store"));
}

#[test]
fn output_cut_short_by_the_reader_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let env = Env::init();
    let dir = env.path("many");
    fs::create_dir(&dir).unwrap();
    // About 200 KB of `ls` output: more than a pipe holds, so writes fail once the reader is gone.
    for i in 0..2000 {
        fs::write(
            dir.join(format!("product-{i:05}-{}.json", "x".repeat(60))),
            b"{}",
        )
        .unwrap();
    }
    env.backup(&["many"]);
    let mut child = env
        .std_cmd()
        .args(["ls", "latest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe's read end is closed here, as `backstock ls latest | head -1` does.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_no_panic(&stderr);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
