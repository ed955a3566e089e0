//! `rclone:REMOTE:PATH` repositories: each command starts `rclone serve restic` on loopback with
//! a random password, talks REST to it and stops it. The remote is a local-disk remote defined in
//! the environment (`RCLONE_CONFIG_SHOP_TYPE=local`), so the test needs rclone and nothing else;
//! rclone must be installed (`.ci/run` installs it).

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn run(env: &Env, args: &[&str]) -> Output {
    env.std_cmd()
        .env("RCLONE_CONFIG_SHOP_TYPE", "local")
        .args(args)
        .output()
        .unwrap()
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = run(env, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    assert_no_panic(&stderr);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An environment whose repository is `rclone:shop:<tmp>/served`, and that directory.
fn rclone_env() -> (Env, PathBuf) {
    let mut env = Env::new();
    let served = env.path("served");
    env.repo = format!("rclone:shop:{}", served.display()).into();
    (env, served)
}

/// rclone processes serving `served`.
fn servers_of(served: &Path) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-f", &format!("serve restic .*{}", served.display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn rclone_remote_end_to_end_and_no_server_left_running() {
    assert!(
        std::process::Command::new("rclone")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "rclone is not installed: apt-get install rclone (these tests need it)"
    );
    let (mut env, served) = rclone_env();
    let store = env.path("store");
    make_store(&store);

    let init = ok(&env, &["init"]);
    assert!(init.contains("rclone:shop:"), "{init}");
    assert!(served.join("config").is_file(), "no config in the remote");
    ok(&env, &["backup", "store"]);
    write(&store.join("products/9.json"), product_json("nine", 5_000));
    ok(&env, &["backup", "store"]);
    let target = env.dir("restored");
    ok(
        &env,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert_same_tree(&store, &target.join("store"));
    ok(&env, &["check", "--read-data"]);
    ok(&env, &["forget", "--keep-last", "1", "--prune"]);
    env.fresh_cache();
    let again = env.dir("restored-again");
    ok(
        &env,
        &["restore", "latest", "--target", again.to_str().unwrap()],
    );
    assert_same_tree(&store, &again.join("store"));
    assert_eq!(servers_of(&served), 0, "an rclone server was left running");
}

#[test]
fn a_remote_rclone_does_not_know_is_a_clear_error() {
    let mut env = Env::new();
    env.repo = "rclone:nosuchremote:repo".into();
    let out = run(&env, &["snapshots"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr);
    assert!(
        stderr.contains("rclone serve restic for nosuchremote:repo did not start")
            && stderr.contains("nosuchremote"),
        "{stderr}"
    );
}

/// SIGTERM in the middle of a backup: backstock releases its lock through the server, then stops
/// the server; nothing of rclone's is left running and the repository has no lock.
#[test]
fn an_interrupted_command_stops_its_rclone_server() {
    let (env, served) = rclone_env();
    ok(&env, &["init"]);
    for i in 0..8 {
        write(
            &env.path(&format!("big/{i}.bin")),
            pseudo_random(&format!("big {i}"), 16 << 20),
        );
    }
    let child = env
        .std_cmd()
        .env("RCLONE_CONFIG_SHOP_TYPE", "local")
        .args(["backup", "big"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let locks = || std::fs::read_dir(served.join("locks")).map_or(0, |d| d.count());
    while locks() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(locks(), 1, "the backup never took its lock");
    let ok_kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok_kill);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 128 MiB to back up through rclone take seconds; the signal comes right after the lock.
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_eq!(locks(), 0, "the lock was not released:\n{stderr}");
    // The server gets SIGTERM; give it a moment to exit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while servers_of(&served) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(servers_of(&served), 0, "an rclone server was left running");
    ok(&env, &["check"]);
}

/// A daily backup with nothing changed, on a remote repository with a warm cache: it lists, reads
/// what it needs from the cache, writes a lock and a snapshot, and reads no pack at all. The
/// counts come from `backup --json` (`storage_operations`).
#[test]
fn an_unchanged_backup_reads_no_pack_and_needs_few_operations() {
    let (env, _) = rclone_env();
    make_store(&env.path("store"));
    ok(&env, &["init"]);
    let first: serde_json::Value =
        serde_json::from_str(&ok(&env, &["--json", "backup", "store"])).unwrap();
    assert!(
        first["storage_operations"]["writes"].as_u64().unwrap() >= 3,
        "{first}"
    );
    let second: serde_json::Value =
        serde_json::from_str(&ok(&env, &["--json", "backup", "store"])).unwrap();
    let ops = &second["storage_operations"];
    assert_eq!(ops["pack_reads"], 0, "{ops}");
    // A lock, its removal, the snapshot: nothing else is written.
    assert_eq!(ops["writes"], 2, "lock and snapshot only: {ops}");
    let total: u64 = ["lists", "reads", "pack_reads", "writes", "deletes", "stats"]
        .iter()
        .map(|k| ops[k].as_u64().unwrap())
        .sum();
    assert!(total <= 20, "{total} operations: {ops}");
    eprintln!("unchanged backup over rclone: {ops}");
}

/// `--limit-upload` and `--limit-download` (KiB/s) are taken by every command and change nothing
/// but the pace (the pace itself is measured in benchmarks, not here); 0 is refused.
#[test]
fn rate_limited_backup_and_restore_are_identical() {
    let (env, _) = rclone_env();
    let store = env.path("store");
    make_store(&store);
    let limits = ["--limit-upload", "100000", "--limit-download", "100000"];
    ok(&env, &[&limits[..], &["init"]].concat());
    ok(&env, &[&limits[..], &["backup", "store"]].concat());
    let target = env.dir("restored");
    let t = target.to_str().unwrap();
    ok(
        &env,
        &[&limits[..], &["restore", "latest", "--target", t]].concat(),
    );
    assert_same_tree(&store, &target.join("store"));
    let out = run(&env, &["--limit-upload", "0", "snapshots"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "0 KiB/s was taken: {stderr}");
    assert!(stderr.contains("--limit-upload"), "{stderr}");
}

/// A restore from a remote store reads each pack it needs in one request (the store's read span
/// is larger than a pack), not in the few-MiB segments a directory is read in: 20 MiB of
/// incompressible data fill two data packs, which 4 MiB segments would read in six requests.
#[test]
fn a_remote_restore_reads_each_pack_once() {
    let (env, served) = rclone_env();
    let store = env.path("store");
    write(
        &store.join("media/video.bin"),
        pseudo_random("video", 20 << 20),
    );
    write(&store.join("products/1.json"), product_json("p1", 2_000));
    ok(&env, &["init"]);
    ok(&env, &["backup", "store"]);
    let packs = files_under(&served.join("data")).len() as u64;
    let target = env.dir("restored");
    let t = target.to_str().unwrap();
    let out: serde_json::Value =
        serde_json::from_str(&ok(&env, &["--json", "restore", "latest", "--target", t])).unwrap();
    assert_same_tree(&store, &target.join("store"));
    let reads = out["storage_operations"]["pack_reads"].as_u64().unwrap();
    assert!(packs >= 2, "{packs} packs");
    assert!(
        reads >= 1 && reads <= packs,
        "{reads} pack reads for {packs} packs: {out}"
    );
}

/// Tree blobs come a pack at a time from a remote store: with no cache (or a new one), restoring
/// 300 directories reads each tree pack once, not each of the 300-odd tree blobs by itself, and a
/// restore with a new cache leaves the trees in it for the next command.
#[test]
fn trees_are_read_a_pack_at_a_time_from_a_remote_store() {
    let (mut env, served) = rclone_env();
    let store = env.path("store");
    for i in 0..300 {
        write(
            &store.join(format!("products/{i:03}/product.json")),
            product_json(&format!("p{i}"), 200),
        );
    }
    ok(&env, &["init"]);
    ok(&env, &["backup", "store"]);
    let packs = files_under(&served.join("data")).len() as u64;
    let pack_reads = |env: &Env, args: &[&str], target: &str| {
        let target = env.dir(target);
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        a.extend(["restore", "latest", "--target", target.to_str().unwrap()]);
        let out: serde_json::Value = serde_json::from_str(&ok(env, &a)).unwrap();
        assert_same_tree(&store, &target.join("store"));
        out["storage_operations"]["pack_reads"].as_u64().unwrap()
    };
    let reads = pack_reads(&env, &["--no-cache"], "uncached");
    assert!(reads <= packs, "{reads} pack reads for {packs} packs");
    env.fresh_cache();
    let reads = pack_reads(&env, &[], "new-cache");
    assert!(reads <= packs, "{reads} pack reads for {packs} packs");
    // The trees are in the cache now: only data packs are read.
    let again = pack_reads(&env, &[], "warm-cache");
    assert!(
        again < reads,
        "{again} pack reads with a warm cache, {reads} with a new one"
    );
}
