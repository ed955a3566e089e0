//! Crash safety and concurrency: backups and prunes killed with SIGKILL at random moments leave a
//! repository that `check` passes and that the next backup and prune use normally; prune run while a
//! backup runs never deletes what the backup references.
//!
//! Iterations: 3 by default; set BACKSTOCK_CRASH_ITERATIONS for a longer soak.

use crate::util::Env;
use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// What these tests do with the shared harness's repository, beyond running a command.
trait Crash {
    fn spawn(&self, args: &[&str]) -> Child;
    fn snapshot_ids(&self) -> Vec<String>;
    fn check_clean(&self);
    fn restore_equals(&self, snap: &str, src: &Path);
    fn pack_names(&self) -> BTreeSet<String>;
}

impl Crash for Env {
    fn spawn(&self, args: &[&str]) -> Child {
        self.std_cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn snapshot_ids(&self) -> Vec<String> {
        self.snapshots(&[])
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// `check --read-data` passes; notes (unindexed leftovers) are allowed.
    fn check_clean(&self) {
        let out = self.run(["check", "--read-data"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "check failed: {err}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    fn restore_equals(&self, snap: &str, src: &Path) {
        let target = self.root.join(format!("restore-{}", rand_suffix()));
        self.ok(["restore", snap, "--target", target.to_str().unwrap()]);
        assert_same_tree(src, &target.join("data"));
        std::fs::remove_dir_all(&target).unwrap();
    }

    /// The names of the complete pack files (not the partial files of a writer at work).
    fn pack_names(&self) -> BTreeSet<String> {
        self.names_in("data").into_iter().collect()
    }
}

fn rand_suffix() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn iterations() -> usize {
    std::env::var("BACKSTOCK_CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// Writes `n` files of pseudo-random (incompressible) data plus some JSON, seeded.
fn write_data(dir: &Path, seed: u64, files: usize, size: usize) {
    std::fs::create_dir_all(dir.join("json")).unwrap();
    for i in 0..files {
        let mut buf = vec![0u8; size];
        blake3::Hasher::new()
            .update(&seed.to_le_bytes())
            .update(&(i as u64).to_le_bytes())
            .finalize_xof()
            .fill(&mut buf);
        std::fs::write(dir.join(format!("blob-{i}.bin")), &buf).unwrap();
        let json =
            format!("{{\"id\": {i}, \"seed\": {seed}, \"title\": \"product {i}\"}}\n").repeat(50);
        std::fs::write(dir.join("json").join(format!("{i}.json")), json).unwrap();
    }
}

fn assert_same_tree(a: &Path, b: &Path) {
    let list = |root: &Path| {
        let mut v: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    v.push((
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        v.sort();
        v
    };
    let (x, y) = (list(a), list(b));
    assert_eq!(
        x.len(),
        y.len(),
        "file counts differ between {} and {}",
        a.display(),
        b.display()
    );
    for ((pa, da), (pb, db)) in x.iter().zip(&y) {
        assert_eq!(pa, pb);
        assert!(da == db, "content of {} differs", pa.display());
    }
}

/// Polls (every millisecond, for at most two minutes) until `event` holds or the child exits, then
/// kills the child with SIGKILL. Returns whether the kill interrupted it (it had not exited by itself).
fn kill_on(mut child: Child, mut event: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !event() && Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill(); // SIGKILL; an error means it had exited already
    let status = child.wait().unwrap();
    status.signal() == Some(libc::SIGKILL)
}

/// A random number in `1..=n` (at least 1).
fn random_up_to(n: usize) -> usize {
    1 + rand::random::<usize>() % n.max(1)
}

#[test]
fn killed_backups_leave_a_usable_repository() {
    let env = Env::init();
    let data = env.root.join("data");
    // How many packs a backup of this much new data writes, to kill the next ones part-way: when
    // the k-th of them lands, k drawn at random below that count, so the backup has more to write.
    write_data(&data, 1000, 12, 4 << 20);
    let before = env.pack_names();
    env.ok(["backup", "data"]);
    let full = env.pack_names().difference(&before).count();
    assert!(
        full >= 2,
        "a full backup wrote {full} packs: too few to kill one part-way"
    );
    let mut interrupted = 0;
    for it in 0..iterations() {
        write_data(&data, it as u64, 12, 4 << 20);
        let before = env.pack_names();
        let k = random_up_to(full - 1);
        let child = env.spawn(&["backup", "data"]);
        interrupted +=
            kill_on(child, || env.pack_names().difference(&before).count() >= k) as usize;
        env.check_clean();
        // The next backup and prune work, and the result restores.
        env.ok(["backup", "data"]);
        env.check_clean();
        env.ok(["prune"]);
        env.check_clean();
        let ids = env.snapshot_ids();
        env.restore_equals(ids.last().unwrap(), &data);
    }
    assert!(
        interrupted > 0,
        "no backup was interrupted (a full run writes {full} packs)"
    );
}

/// Three versions, then all but the newest snapshot dropped, so prune has packs to delete and repack.
fn versions_to_prune(env: &Env, data: &Path, seed: u64) {
    for v in 0..3 {
        write_data(data, seed * 10 + v, 6, 3 << 20);
        env.ok(["backup", "data"]);
    }
    let ids = env.snapshot_ids();
    for id in &ids[..ids.len() - 1] {
        std::fs::remove_file(env.repo.join("snapshots").join(id)).unwrap();
    }
}

#[test]
fn killed_prunes_leave_a_usable_repository() {
    let env = Env::init();
    let data = env.root.join("data");
    // Each prune is killed on an event of its own work, drawn at random: when its first repacked
    // pack lands, or when it has deleted its first pack. If the prune finished between that event
    // and the kill (a slow poll), the run counts as not interrupted, and a few more runs are made
    // until one is.
    let mut interrupted = 0;
    let mut runs = 0;
    while runs < iterations() || (interrupted == 0 && runs < iterations() + 10) {
        versions_to_prune(&env, &data, runs as u64);
        let before = env.pack_names();
        let on_delete = rand::random::<bool>();
        let child = env.spawn(&["prune", "--max-unused", "0"]);
        interrupted += kill_on(child, || {
            let now = env.pack_names();
            if on_delete {
                before.difference(&now).count() > 0
            } else {
                now.difference(&before).count() > 0
            }
        }) as usize;
        runs += 1;
        // The lock of the killed prune is stale (its process is gone): the next commands go on.
        env.check_clean();
        env.ok(["prune", "--max-unused", "0"]);
        env.check_clean();
        env.restore_equals("latest", &data);
        env.ok(["backup", "data"]);
    }
    assert!(interrupted > 0, "no prune was interrupted in {runs} runs");
}

#[test]
fn prune_waits_for_a_running_backup_and_deletes_nothing_it_uses() {
    let env = Env::init();
    let data = env.root.join("data");
    write_data(&data.join("old"), 1, 6, 2 << 20);
    env.ok(["backup", "data"]);
    let first = env.snapshot_ids();
    // A backup of standard input whose content is an old file's: it shares that file's blobs. It
    // reads from a pipe this test holds open, so it is still running (and holds its lock) for as
    // long as the test needs. Once it runs, the only snapshot that references the old blobs is
    // forgotten: a prune that ignored the running backup would delete blobs it depends on.
    let content = std::fs::read(data.join("old/blob-0.bin")).unwrap();
    let (head, tail) = content.split_at(content.len() / 2);
    // --retry-lock: the brief moment in which the refused prune's lock file exists must not make
    // the backup give up (both sides back off when their lock attempts overlap).
    let mut backup = env
        .std_cmd()
        .args([
            "--retry-lock",
            "60s",
            "backup",
            "--stdin",
            "--stdin-filename",
            "blob-0.bin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = backup.stdin.take().unwrap();
    stdin.write_all(head).unwrap();
    // Wait until the backup holds its lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.names_in("locks").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(env.names_in("locks").len(), 1, "the backup took no lock");
    for id in &first {
        std::fs::remove_file(env.repo.join("snapshots").join(id)).unwrap();
    }
    // Without waiting, prune refuses while the backup holds its lock...
    let refused = env.run(["prune"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("locked"),
        "prune did not refuse with a lock error while the backup ran: {:?}\n{err}",
        refused.status.code()
    );
    let reader = env.spawn(&["snapshots"]); // harmless concurrent reader
    let read = reader.wait_with_output().unwrap();
    assert!(
        read.status.success(),
        "snapshots beside a running backup: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    // ...and with --retry-lock it waits for the backup, which cannot end before its input does.
    let mut pruning = env.spawn(&["--retry-lock", "120s", "prune", "--max-unused", "0"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        pruning.try_wait().unwrap().is_none(),
        "prune with --retry-lock did not wait for the running backup"
    );
    assert!(
        backup.try_wait().unwrap().is_none(),
        "the backup ended before its input did"
    );
    stdin.write_all(tail).unwrap();
    drop(stdin);
    let backup_out = backup.wait_with_output().unwrap();
    assert!(
        backup_out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&backup_out.stderr)
    );
    // Then it prunes.
    let pruned = pruning.wait_with_output().unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    env.ok(["prune", "--max-unused", "0"]);
    env.check_clean();
    // The backup's snapshot, whose blobs the old snapshot's packs held, restores byte for byte.
    assert_eq!(env.snapshot_ids().len(), 1);
    let target = env.root.join("restored");
    env.ok(["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(
        std::fs::read(target.join("blob-0.bin")).unwrap() == content,
        "the restored standard input differs from what the backup read"
    );
}
