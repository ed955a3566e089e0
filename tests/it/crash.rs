//! Crash safety and concurrency: backups and prunes killed with SIGKILL at random moments leave a
//! repository that `check` passes and that the next backup and prune use normally; prune run while a
//! backup runs never deletes what the backup references.
//!
//! Iterations: 3 by default; set BACKSTOCK_CRASH_ITERATIONS for a longer soak.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

struct Env {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    cache: PathBuf,
    root: PathBuf,
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_backstock"))
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let e = Env {
            repo: root.join("repo"),
            cache: root.join("cache"),
            root,
            _dir: dir,
        };
        let out = e.run(&["init"]);
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        e
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.env("BACKSTOCK_PASSWORD", "crash-test")
            .env_remove("BACKSTOCK_REPOSITORY")
            .arg("-r")
            .arg(&self.repo)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .current_dir(&self.root);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{args:?} failed ({:?}): {err}",
            out.status.code()
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn snapshot_ids(&self) -> Vec<String> {
        let out = self.ok(&["snapshots", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// `check --read-data` passes; notes (unindexed leftovers) are allowed.
    fn check_clean(&self) {
        let out = self.run(&["check", "--read-data"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "check failed: {err}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    fn restore_equals(&self, snap: &str, src: &Path) {
        let target = self.root.join(format!("restore-{}", rand_suffix()));
        self.ok(&["restore", snap, "--target", target.to_str().unwrap()]);
        assert_same_tree(src, &target.join("data"));
        std::fs::remove_dir_all(&target).unwrap();
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

fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let finished = matches!(child.try_wait(), Ok(Some(_)));
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    !finished
}

/// A random moment within a run that takes `full`: 5% to 90% of the way through.
fn random_point(full: Duration) -> Duration {
    full.mul_f64(0.05 + 0.85 * rand::random::<f64>())
}

fn timed(env: &Env, args: &[&str]) -> Duration {
    let start = std::time::Instant::now();
    env.ok(args);
    start.elapsed()
}

#[test]
fn killed_backups_leave_a_usable_repository() {
    let env = Env::new();
    let data = env.root.join("data");
    // How long a backup of this much new data takes here, to kill the next ones part-way.
    write_data(&data, 1000, 12, 4 << 20);
    let full = timed(&env, &["backup", "data"]);
    let mut interrupted = 0;
    for it in 0..iterations() {
        write_data(&data, it as u64, 12, 4 << 20);
        let child = env.spawn(&["backup", "data"]);
        interrupted += kill_after(child, random_point(full)) as usize;
        env.check_clean();
        // The next backup and prune work, and the result restores.
        env.ok(&["backup", "data"]);
        env.check_clean();
        env.ok(&["prune"]);
        env.check_clean();
        let ids = env.snapshot_ids();
        env.restore_equals(ids.last().unwrap(), &data);
    }
    eprintln!("backups killed part-way: {interrupted} of {}", iterations());
    assert!(
        interrupted > 0,
        "no backup was interrupted (full run takes {full:?})"
    );
}

/// Three versions, then all but the newest snapshot dropped, so prune has packs to delete and repack.
fn versions_to_prune(env: &Env, data: &Path, seed: u64) {
    for v in 0..3 {
        write_data(data, seed * 10 + v, 6, 3 << 20);
        env.ok(&["backup", "data"]);
    }
    let ids = env.snapshot_ids();
    for id in &ids[..ids.len() - 1] {
        std::fs::remove_file(env.repo.join("snapshots").join(id)).unwrap();
    }
}

#[test]
fn killed_prunes_leave_a_usable_repository() {
    let env = Env::new();
    let data = env.root.join("data");
    versions_to_prune(&env, &data, 1000);
    let full = timed(&env, &["prune", "--max-unused", "0"]);
    let mut interrupted = 0;
    for it in 0..iterations() {
        versions_to_prune(&env, &data, it as u64);
        let child = env.spawn(&["prune", "--max-unused", "0"]);
        interrupted += kill_after(child, random_point(full)) as usize;
        // The lock of the killed prune is stale (its process is gone): the next commands go on.
        env.check_clean();
        env.ok(&["prune", "--max-unused", "0"]);
        env.check_clean();
        env.restore_equals("latest", &data);
        env.ok(&["backup", "data"]);
    }
    eprintln!("prunes killed part-way: {interrupted} of {}", iterations());
    assert!(
        interrupted > 0,
        "no prune was interrupted (full run takes {full:?})"
    );
}

#[test]
fn prune_waits_for_a_running_backup_and_deletes_nothing_it_uses() {
    let env = Env::new();
    let data = env.root.join("data");
    write_data(&data.join("old"), 1, 6, 2 << 20);
    env.ok(&["backup", "data"]);
    // Start a large backup that shares the old files' blobs, then forget the only snapshot that
    // references them: a prune that ignored the running backup would delete blobs it depends on.
    let first = env.snapshot_ids();
    write_data(&data.join("new"), 2, 40, 4 << 20);
    // --retry-lock: the brief moment in which the refused prune's lock file exists must not make
    // the backup give up (both sides back off when their lock attempts overlap).
    let backup = env.spawn(&["--retry-lock", "60s", "backup", "data"]);
    // Wait until the backup holds its lock.
    let locks = env.repo.join("locks");
    for _ in 0..400 {
        if std::fs::read_dir(&locks)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for id in &first {
        std::fs::remove_file(env.repo.join("snapshots").join(id)).unwrap();
    }
    // Without waiting, prune refuses while the backup holds its lock...
    let refused = env.run(&["prune"]);
    let backup_done = env.spawn(&["snapshots"]); // harmless concurrent reader
    let _ = backup_done.wait_with_output();
    let backup_out = if refused.status.success() {
        // The backup had already finished (a very fast machine): still a valid outcome.
        backup.wait_with_output().unwrap()
    } else {
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains("locked"),
            "prune failed without a lock error: {err}"
        );
        // ...and with --retry-lock it waits for the backup, then prunes.
        let pruned = env.run(&["--retry-lock", "120s", "prune", "--max-unused", "0"]);
        assert!(
            pruned.status.success(),
            "{}",
            String::from_utf8_lossy(&pruned.stderr)
        );
        backup.wait_with_output().unwrap()
    };
    assert!(
        backup_out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&backup_out.stderr)
    );
    env.ok(&["prune", "--max-unused", "0"]);
    env.check_clean();
    env.restore_equals("latest", &data);
}
