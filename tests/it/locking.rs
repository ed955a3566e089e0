//! Locks through the binary: a backup that waits for a prune reads the index after it; a read-only
//! repository restores without a lock; Ctrl-C and SIGTERM leave no lock and no partial file behind.

use crate::util::*;
use backstock::backend::LocalBackend;
use backstock::repository::lock::LockKind;
use backstock::repository::{OpenOptions, Repository};
use backstock::{prune_locked, PruneOptions};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn open_lib(env: &Env) -> Repository {
    Repository::open(
        Arc::new(LocalBackend::new(&env.repo)),
        PASSWORD.as_bytes(),
        &OpenOptions {
            no_cache: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn lock_files(env: &Env) -> Vec<String> {
    fs::read_dir(env.repo.join("locks"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until a lock file other than `ours` appears (a process trying to lock), polling fast
/// because an attempt that conflicts removes its file again within milliseconds.
fn wait_for_lock_attempt(env: &Env, ours: &[String]) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if lock_files(env)
            .iter()
            .any(|n| !n.starts_with('.') && !ours.contains(n))
        {
            return;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
    panic!("no other process tried to lock the repository within 60 s");
}

/// Issue 8, point 1: a backup started while a prune holds its exclusive lock waits for it, and then
/// must not deduplicate against blobs the prune deleted. The file whose only copy was in a
/// forgotten snapshot comes back; after the backup it must restore identical.
#[test]
fn a_backup_that_waits_for_prune_reads_the_index_after_the_lock() {
    let env = Env::init();
    let data = env.path("data");
    let a = pseudo_random("a.bin", 195 * 1024);
    write(&data.join("a.bin"), &a);
    write(&data.join("b.txt"), b"stays");
    let first = env.backup(&["data"]);
    fs::remove_file(data.join("a.bin")).unwrap();
    env.backup(&["data"]);
    env.ok(["forget", &first]);
    write(&data.join("a.bin"), &a);

    // This test holds the exclusive lock, as a running prune does.
    let mut repo = open_lib(&env);
    let guard = repo.lock(LockKind::Exclusive).unwrap();
    let ours = lock_files(&env);
    let child = env
        .std_cmd()
        .args(["--retry-lock", "120s", "backup", "--json", "data"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The backup has opened the repository and is waiting for the lock.
    wait_for_lock_attempt(&env, &ours);
    let report = prune_locked(
        &mut repo,
        &guard,
        &PruneOptions {
            max_unused_percent: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        report.packs_deleted + report.packs_repacked > 0,
        "prune removed nothing: {report:?}"
    );
    drop(guard);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.ok(["check", "--read-data"]);
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_eq!(fs::read(target.join("data/a.bin")).unwrap(), a);
}

/// Issue 8, point 12: a repository nobody may write to (a read-only mount, an immutable copy) can be
/// restored from, checked and searched; commands that change it say why they cannot.
#[test]
fn a_read_only_repository_can_be_restored_from() {
    let env = Env::init();
    let data = env.path("data");
    make_store(&data);
    let snap = env.backup(&["data"]);
    write(&data.join("new.txt"), b"second version");
    env.backup(&["data"]);
    // Readable, not writable; as root, run the commands as `nobody`, whom the modes do stop.
    let status = std::process::Command::new("chmod")
        .args(["-R", "a=rX"])
        .arg(&env.repo)
        .status()
        .unwrap();
    assert!(status.success());
    let as_reader = |args: &[&str]| -> std::process::Output {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("backstock"));
        if is_root() {
            c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(assert_cmd::cargo::cargo_bin("backstock"));
        }
        c.current_dir(&env.root)
            .env("BACKSTOCK_PASSWORD", PASSWORD)
            .env("BACKSTOCK_REPOSITORY", &env.repo)
            .env_remove("BACKSTOCK_PASSWORD_FILE")
            .arg("--no-cache")
            .args(args)
            .output()
            .unwrap()
    };
    let target = env.path("target");
    fs::create_dir(&target).unwrap();
    std::process::Command::new("chmod")
        .args(["777"])
        .arg(&target)
        .status()
        .unwrap();
    let target_s = target.to_string_lossy().into_owned();
    for args in [
        vec!["restore", "latest", "--target", &target_s],
        vec!["check"],
        vec!["find", "new.txt"],
        vec!["diff", &snap, "latest"],
        vec!["stats"],
        vec!["ls", "latest"],
        vec!["snapshots"],
    ] {
        let out = as_reader(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.contains("without a lock"), "{args:?}: {err}");
        assert_no_panic(&err);
    }
    // As `nobody` the owners cannot be restored; the contents must be.
    let restored = target.join("data");
    assert_eq!(rel_paths(&data), rel_paths(&restored));
    for f in files_under(&data) {
        let rel = f.strip_prefix(&data).unwrap();
        assert_eq!(
            file_hash(&f),
            file_hash(&restored.join(rel)),
            "{}",
            rel.display()
        );
    }
    // With --no-lock, no warning: the user asked for it.
    let out = as_reader(&["--no-lock", "snapshots"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("without a lock"));
    // Commands that change the repository fail, naming the cause, and leave no lock file.
    for args in [
        vec!["backup", "data"],
        vec!["prune"],
        vec!["--no-lock", "prune"],
    ] {
        let out = as_reader(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(lock_files(&env).is_empty());
    std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&env.repo)
        .status()
        .unwrap();
}

fn files_named(dir: &Path, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            out.push(e.display().to_string());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn signal(pid: u32, sig: &str) {
    use rustix::process::{kill_process, Pid, Signal};
    let sig = match sig {
        "-INT" => Signal::INT,
        _ => Signal::TERM,
    };
    let pid = Pid::from_raw(pid as i32).expect("a child's PID is positive");
    kill_process(pid, sig).expect("signalling the child");
}

fn stderr_of(child: &mut std::process::Child) -> String {
    use std::io::Read;
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

/// Issue 8, point 17: SIGINT and SIGTERM remove the command's lock and say so; the repository
/// stays valid. The backup reads standard input from a pipe the test keeps open, so it is surely
/// holding its lock, mid-command, when the signal comes.
#[test]
fn an_interrupted_command_removes_its_lock() {
    let env = Env::init();
    env.ok_stdin(["backup", "--stdin"], b"first");
    for (sig, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = env
            .std_cmd()
            .args(["backup", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        wait_for_lock_attempt(&env, &[]);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(lock_files(&env).len(), 1, "the backup holds its lock");
        signal(child.id(), sig);
        let stderr = stderr_of(&mut child);
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(code), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(lock_files(&env).is_empty(), "{:?}", lock_files(&env));
    }
    assert_eq!(env.snapshots(&[]).len(), 1);
    env.ok(["check", "--read-data"]);
}

/// An interrupted backup of large files leaves no partial pack behind (whenever the signal lands).
#[test]
fn an_interrupted_backup_leaves_no_partial_file() {
    let env = Env::init();
    let data = env.path("data");
    for i in 0..4 {
        write(
            &data.join(format!("big{i}.bin")),
            pseudo_random(&format!("big{i}"), 48 << 20),
        );
    }
    let mut child = env
        .std_cmd()
        .args(["backup", "data"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_lock_attempt(&env, &[]);
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "-INT");
    let stderr = stderr_of(&mut child);
    let status = child.wait().unwrap();
    assert!(matches!(status.code(), Some(0) | Some(130)), "{stderr}");
    assert!(lock_files(&env).is_empty());
    assert_eq!(files_named(&env.repo, ".tmp-"), Vec::<String>::new());
    env.ok(["check"]);
    env.backup(&["data"]);
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_same_tree(&data, &target.join("data"));
}

/// Issue 8, point 17: `unlock` clears partial lock files a killed writer left.
#[test]
fn unlock_removes_old_partial_files() {
    let env = Env::init();
    let old = env.repo.join("locks/.tmp-0123456789abcdef");
    let fresh = env.repo.join("locks/.tmp-fedcba9876543210");
    write(&old, b"partial");
    write(&fresh, b"partial");
    set_mtime(&old, 1_000_000_000, 0);
    env.ok(["unlock"]);
    assert!(!old.exists());
    assert!(
        fresh.exists(),
        "a fresh partial file may belong to a running writer"
    );
}

/// The exit code for a repository locked by another process is 11, as in restic.
#[test]
fn a_locked_repository_exits_with_11() {
    let env = Env::init();
    let repo = open_lib(&env);
    let id = env.backup(&[env.path("repo/config").to_str().unwrap()]);
    let _guard = repo.lock(LockKind::Exclusive).unwrap();
    // Every command takes its lock in the library, readers and the key commands included.
    let target = env.path("restored");
    let commands: Vec<Vec<&str>> = vec![
        vec!["snapshots"],
        vec!["ls", &id],
        vec!["find", "config"],
        vec!["stats"],
        vec!["diff", &id, &id],
        vec!["restore", &id, "--target", target.to_str().unwrap()],
        vec!["cat", "snapshot", &id],
        vec!["key", "list"],
        vec!["forget", "--keep-last", "1", "--prune"],
        vec!["prune", "--dry-run"],
        vec!["check"],
    ];
    for args in commands {
        let err = env.fails(11, &args);
        assert!(err.contains("locked"), "{args:?}: {err}");
    }
}
