//! What a backup reads and writes when its input is hostile or changing: names a tree cannot hold,
//! files swapped for symlinks or FIFOs between listing and reading, files that grow while read, and
//! relative paths given from different directories.

use crate::util::*;
use rustix::fs::{mknodat, open, renameat_with, FileType, Mode, OFlags, RenameFlags, CWD};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `--stdin-filename` values no tree can hold are refused before the repository is touched.
#[test]
fn bad_stdin_filenames_are_refused_and_write_nothing() {
    let env = Env::init();
    let before = env.repo_contents();
    // (An argument cannot hold NUL; save_tree's own check covers that, in a unit test.)
    for name in ["..", ".", "a/b", "", "/", "/.."] {
        let out = env.run_stdin(
            ["backup", "--stdin", "--stdin-filename", name],
            b"some bytes",
        );
        expect_code(&out, 1, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--stdin-filename") && err.contains("not a valid file name"),
            "{name:?}: {err}"
        );
        assert_eq!(
            env.repo_contents(),
            before,
            "{name:?} changed the repository"
        );
    }
    assert!(env.names_in("snapshots").is_empty());

    // A leading '/' is dropped; the name is then a plain name and the backup works.
    env.ok_stdin(
        ["backup", "--stdin", "--stdin-filename", "/db.sql"],
        b"create table t;\n",
    );
    assert_eq!(env.ls("latest"), ["/db.sql"]);
    assert_eq!(
        env.ok_bytes(["dump", "latest", "db.sql"]),
        b"create table t;\n"
    );
    // The repository stays readable as a whole.
    env.ok(["check"]);
}

/// `backup --json ARGS` with the working directory `dir`; asserts exit 0 and returns the report.
fn backup_in(env: &Env, dir: &Path, args: &[&str]) -> Value {
    let mut c = env.cmd();
    c.current_dir(dir).args(["--json", "backup"]).args(args);
    let out = exit_with(&mut c, 0);
    serde_json::from_slice(&out.stdout).expect("backup --json prints JSON")
}

/// Runs with `args` in the working directory `dir`; a run that takes longer than `limit` is
/// killed and fails the test, so a command that blocks (e.g. on a FIFO) cannot hang the suite.
fn run_with_deadline(env: &Env, dir: &Path, args: &[&str], limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = env
        .std_cmd()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting backstock");
    // Drain the pipes on their own threads so a full pipe cannot stall the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).unwrap();
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).unwrap();
        b
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("backstock {args:?} did not finish within {limit:?}: it blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Exchanges each pair of names atomically (`renameat2(RENAME_EXCHANGE)`) in a loop on its own
/// thread until stopped, so that backups running meanwhile see each name as either object. The
/// directories are opened once, so each exchange is one short system call.
struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Swapper {
    fn start(pairs: Vec<(PathBuf, PathBuf)>) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let open_parent = |p: &Path| {
            let dir = open(
                p.parent().unwrap(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap();
            (dir, p.file_name().unwrap().to_os_string())
        };
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(a, b)| (open_parent(a), open_parent(b)))
            .collect();
        let thread = std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !flag.load(Ordering::Relaxed) {
                for ((da, a), (db, b)) in &pairs {
                    renameat_with(da, a, db, b, RenameFlags::EXCHANGE).expect("exchanging");
                    swaps += 1;
                }
            }
            swaps
        });
        Swapper {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops swapping; returns how many exchanges were made.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const BACKUP_DEADLINE: Duration = Duration::from_secs(120);

/// `backup --json --force tree` under a deadline; exit 0 or 3 (some files unreadable).
fn racing_backup(env: &Env) -> Value {
    let out = run_with_deadline(
        env,
        &env.root,
        &["--json", "backup", "--force", "tree"],
        BACKUP_DEADLINE,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_panic(&stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "backup: {:?}\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("backup JSON: {e}\n{stderr}"))
}

/// The paths the backup report names as failed.
fn failed_paths(report: &Value) -> Vec<String> {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

const RACING_BACKUPS: usize = 6;
const SWAPPED_FILES: usize = 1000;

/// Fills `public` with `SWAPPED_FILES` regular files and `decoy` with as many objects of the same
/// names made by `make`. Exchanging the two directories then changes every one of those names at
/// once, so each backup meets many names that changed between its listing and its reading (a
/// single name swapped in a loop is caught only now and then, the window being microseconds).
fn swapped_names(public: &Path, decoy: &Path, make: impl Fn(&Path)) {
    fs::create_dir_all(decoy).unwrap();
    for i in 0..SWAPPED_FILES {
        let name = format!("f{i:04}");
        write(&public.join(&name), format!("public {i}\n"));
        make(&decoy.join(&name));
    }
}

/// Files and a directory replaced by symlinks to secrets outside the tree, over and over while
/// backups run: the secrets are never read. Each backup stores a name as it was listed (the file or
/// directory with its own content, or the symlink itself) or reports it as failed.
#[test]
fn files_or_directories_swapped_for_symlinks_are_not_followed() {
    let env = Env::init();
    let secret = pseudo_random("secret outside the backed-up tree", 8192);
    write(&env.path("secret"), &secret);
    write(&env.path("secretdir/inner"), &secret);
    let public = product_json("public", 3000);
    write(&env.path("tree/victim"), &public);
    write(&env.path("tree/d/inner"), &public);
    write(&env.path("tree/other"), "other\n");
    let link_to_secret = |p: &Path| std::os::unix::fs::symlink(env.path("secret"), p).unwrap();
    swapped_names(&env.path("tree/t"), &env.path("decoy/t"), link_to_secret);
    link_to_secret(&env.path("spare-link"));
    std::os::unix::fs::symlink(env.path("secretdir"), env.path("spare-dir")).unwrap();

    let swapper = Swapper::start(vec![
        (env.path("tree/t"), env.path("decoy/t")),
        (env.path("tree/victim"), env.path("spare-link")),
        (env.path("tree/d"), env.path("spare-dir")),
    ]);
    let reports: Vec<Value> = (0..RACING_BACKUPS).map(|_| racing_backup(&env)).collect();
    assert!(swapper.stop() > 0);

    let needle = vec![secret[..64].to_vec()];
    for (i, report) in reports.iter().enumerate() {
        let failed = failed_paths(report);
        for f in &failed {
            assert!(
                ["tree/victim", "tree/d", "tree/t"]
                    .iter()
                    .any(|n| f.ends_with(n)),
                "unexpected failure {f}: {report}"
            );
        }
        let target = env.dir(&format!("restored-{i}"));
        env.restore(report["snapshot_id"].as_str().unwrap(), &target, &[]);
        for file in files_under(&target) {
            let bytes = fs::read(&file).unwrap();
            assert!(
                find_any(&bytes, &needle).is_none(),
                "backup {i} stored the secret in {}",
                file.display()
            );
        }
        // Each name holds what was listed: the file or directory (its own content), the symlink,
        // or nothing and a reported failure.
        let reported = |name: &str| failed.iter().any(|f| f.ends_with(&format!("tree/{name}")));
        for (name, link) in [("victim", "secret"), ("d", "secretdir")] {
            let p = target.join("tree").join(name);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    assert_eq!(fs::read_link(&p).unwrap(), env.path(link))
                }
                Ok(m) if m.is_file() => assert_eq!(fs::read(&p).unwrap(), public.as_bytes()),
                Ok(m) if m.is_dir() => {
                    assert_eq!(top_names(&p), ["inner"]);
                    assert_eq!(fs::read(p.join("inner")).unwrap(), public.as_bytes());
                }
                Ok(m) => panic!("{}: unexpected {m:?}", p.display()),
                Err(_) => assert!(reported(name), "backup {i}: {name} missing: {report}"),
            }
        }
        let t = target.join("tree/t");
        if !t.exists() {
            assert!(reported("t"), "backup {i}: t missing: {report}");
            continue;
        }
        for name in top_names(&t) {
            let p = t.join(&name);
            let m = fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                assert_eq!(fs::read_link(&p).unwrap(), env.path("secret"));
            } else {
                let n: usize = name[1..].parse().unwrap();
                assert_eq!(fs::read(&p).unwrap(), format!("public {n}\n").as_bytes());
            }
        }
    }
}

/// A FIFO in the tree is recorded, never opened, and files swapped for FIFOs between listing and
/// reading do not block the backup.
#[test]
fn a_fifo_does_not_block_the_backup() {
    let env = Env::init();
    let fifo = |p: &Path| mknodat(CWD, p, FileType::Fifo, Mode::from(0o644), 0).unwrap();
    write(&env.path("tree/other"), "other\n");
    fifo(&env.path("tree/static-fifo"));
    swapped_names(&env.path("tree/t"), &env.path("decoy/t"), fifo);

    let swapper = Swapper::start(vec![(env.path("tree/t"), env.path("decoy/t"))]);
    let reports: Vec<Value> = (0..RACING_BACKUPS).map(|_| racing_backup(&env)).collect();
    assert!(swapper.stop() > 0);

    for (i, report) in reports.iter().enumerate() {
        let failed = failed_paths(report);
        assert!(
            failed.iter().all(|f| f.ends_with("tree/t")),
            "backup {i}: {report}"
        );
        let id = report["snapshot_id"].as_str().unwrap();
        let long = env.ok(["ls", "-l", id]);
        assert!(
            long.lines()
                .any(|l| l.starts_with("prw-r--r--") && l.ends_with("/tree/static-fifo")),
            "backup {i} did not record the FIFO: {long}"
        );
        assert!(long.lines().any(|l| l.ends_with(" /tree/other")), "{long}");
        // What was stored of t is its regular files, each with its own content.
        let target = env.dir(&format!("restored-{i}"));
        env.restore(id, &target, &[]);
        let fifo_type = fs::symlink_metadata(target.join("tree/static-fifo"))
            .unwrap()
            .file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo_type));
        for file in files_under(&target.join("tree/t")) {
            let name = file.file_name().unwrap().to_str().unwrap();
            let n: usize = name[1..].parse().unwrap();
            assert_eq!(fs::read(&file).unwrap(), format!("public {n}\n").as_bytes());
        }
    }
}

/// Sockets and FIFOs are recorded (not opened) with nothing skipped or failed; the restore of
/// each is in `fidelity::`.
#[test]
fn sockets_and_fifos_are_recorded_not_skipped() {
    let env = Env::init();
    write(&env.path("tree/plain"), "plain\n");
    mknodat(
        CWD,
        env.path("tree/pipe"),
        FileType::Fifo,
        Mode::from(0o644),
        0,
    )
    .unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(env.path("tree/sock")).unwrap();
    let tree = env.path("tree");
    let tree = tree.to_str().unwrap();

    let report = env.backup_json(&[tree]);
    assert_eq!(report["skipped"], serde_json::json!([]), "{report}");
    assert!(failed_paths(&report).is_empty(), "{report}");
    let id = report["snapshot_id"].as_str().unwrap();
    let long = env.ok(["ls", "-l", id]);
    for (mode, name) in [
        ("-rw-r--r--", "plain"),
        ("prw-r--r--", "pipe"),
        ("srw", "sock"),
    ] {
        assert!(
            long.lines()
                .any(|l| l.starts_with(mode) && l.ends_with(&format!("/tree/{name}"))),
            "{name}: {long}"
        );
    }
    let out = env.run(["-v", "backup", tree]);
    expect_code(&out, 0, &[]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Skipped"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("skipped"));
}

/// What the appending writer saw after each append: (mtime, size).
type GrowthLog = Vec<((i64, i64), u64)>;

/// Appends `step` bytes to each file in turn, pausing `pause` after each round, until stopped;
/// logs each file's (mtime, size) after every append (and before the first).
fn start_appending(
    files: Vec<PathBuf>,
    step: usize,
    pause: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<GrowthLog>> {
    std::thread::spawn(move || {
        let mut handles: Vec<fs::File> = files
            .iter()
            .map(|p| fs::OpenOptions::new().append(true).open(p).unwrap())
            .collect();
        let stamp = |f: &fs::File| {
            let m = f.metadata().unwrap();
            ((m.mtime(), m.mtime_nsec()), m.len())
        };
        let mut logs: Vec<GrowthLog> = handles.iter().map(|f| vec![stamp(f)]).collect();
        let mut round = 0u64;
        // At most 256 MiB per file, so that a stuck backup cannot fill the disk.
        while !stop.load(Ordering::Relaxed) && round < (256 << 20) / step as u64 {
            for (f, log) in handles.iter_mut().zip(&mut logs) {
                f.write_all(&pseudo_random(&format!("append {round}"), step))
                    .unwrap();
                log.push(stamp(f));
            }
            round += 1;
            std::thread::sleep(pause);
        }
        logs
    })
}

/// Files that grow while they are read (one streamed, one read whole): each is stored as a prefix
/// of its final content, at most as long as it was when listed, and the streamed one (whose read
/// certainly spans appends) is reported as changed; the backup still exits 0.
#[test]
fn a_file_growing_while_read_is_stored_as_listed_and_reported() {
    let env = Env::init();
    let big = env.path("tree/big.bin");
    let small = env.path("tree/small.json");
    write(&big, pseudo_random("big", 48 << 20));
    write(&small, product_json("small", 1 << 20));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_appending(
        vec![big.clone(), small.clone()],
        64 << 10,
        Duration::from_millis(5),
        stop.clone(),
    );
    let out = run_with_deadline(
        &env,
        &env.root,
        &["--json", "backup", "tree"],
        BACKUP_DEADLINE,
    );
    stop.store(true, Ordering::Relaxed);
    let logs = writer.join().unwrap();
    expect_code(&out, 0, &[]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    let id = report["snapshot_id"].as_str().unwrap();
    for (path, log) in [(&big, &logs[0]), (&small, &logs[1])] {
        let name = path.file_name().unwrap().to_str().unwrap();
        let node = env.node(id, &format!("tree/{name}"));
        let stored = env.ok_bytes(["dump", id, &format!("tree/{name}")]);
        assert_eq!(
            node["size"].as_u64().unwrap(),
            stored.len() as u64,
            "{name}"
        );
        let now = fs::read(path).unwrap();
        assert!(
            stored.len() <= now.len() && stored[..] == now[..stored.len()],
            "{name}: the stored bytes are not a prefix of the file"
        );
        // The node keeps the listed mtime; the file was at most this long with that mtime.
        let mtime = (
            node["mtime"]["sec"].as_i64().unwrap(),
            node["mtime"]["nsec"].as_i64().unwrap(),
        );
        let listed_max = log
            .iter()
            .filter(|(t, _)| *t == mtime)
            .map(|(_, len)| *len)
            .max()
            .unwrap_or_else(|| panic!("{name}: mtime {mtime:?} was never the file's"));
        assert!(
            stored.len() as u64 <= listed_max,
            "{name}: stored {} bytes, but the file had at most {listed_max} when listed",
            stored.len()
        );
    }
    let big_shown = big.display().to_string();
    let changed: Vec<&str> = report["changed_while_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(changed.contains(&big_shown.as_str()), "{report}");
    assert_eq!(
        report["files_changed_while_read"].as_u64().unwrap() as usize,
        changed.len()
    );
    assert!(
        stderr.contains(&format!(
            "warning: file changed while it was read: {big_shown}"
        )),
        "{stderr}"
    );
}

/// Two cron habits: `cd /srv/a && backup .` next to `cd /srv/b && backup .`, and `backup docs` run
/// from two directories. Each directory is its own group for `forget` and its own parent chain,
/// and `docs`, `docs/`, `./docs` and `docs/.` are one path.
#[test]
fn relative_paths_from_different_directories_are_different_backups() {
    let env = Env::init();
    for d in ["srv/a", "srv/b"] {
        write(&env.path(&format!("{d}/data.json")), product_json(d, 2000));
    }
    for d in ["x", "y"] {
        write(
            &env.path(&format!("{d}/docs/readme.md")),
            format!("# {d}\n"),
        );
    }
    let abs = |rel: &str| env.path(rel).display().to_string();
    // Snapshot ID -> the absolute path it should record.
    let mut recorded: BTreeMap<String, String> = BTreeMap::new();
    // Directory -> its newest snapshot.
    let mut last: BTreeMap<&str, String> = BTreeMap::new();
    let mut run = |d: &'static str, arg: &str, records: String, round: usize| -> String {
        write(&env.path(&format!("{d}/round")), format!("{round}\n"));
        let r = backup_in(&env, &env.path(d), &[arg]);
        let id = r["snapshot_id"].as_str().unwrap().to_string();
        assert_eq!(
            r["parent"].as_str(),
            last.get(d).map(String::as_str),
            "{d} {arg} round {round}: wrong parent"
        );
        recorded.insert(id.clone(), records);
        last.insert(d, id.clone());
        id
    };

    // Habit 1: "." from two directories.
    for round in 0..2 {
        for d in ["srv/a", "srv/b"] {
            let id = run(d, ".", abs(d), round);
            if round == 0 {
                // The tree layout follows the argument: "." puts the directory's entries at the root.
                assert_eq!(env.ls(&id), ["/data.json", "/round"]);
            }
        }
    }
    // Habit 2: the same relative name from two directories, spelled in several ways.
    let spellings = ["docs", "docs/", "./docs", "docs/."];
    for (round, spelling) in spellings.iter().enumerate() {
        for d in ["x", "y"] {
            let id = run(d, spelling, abs(&format!("{d}/docs")), round);
            if round == 0 {
                // A relative path keeps its own name in the tree.
                assert_eq!(env.ls(&id), ["/docs", "/docs/readme.md"]);
            }
        }
    }
    for s in env.snapshots(&[]) {
        let id = s["id"].as_str().unwrap();
        assert_eq!(s["paths"], serde_json::json!([recorded[id]]), "{s}");
    }

    // --path takes an absolute path, or a relative one from the working directory.
    assert_eq!(env.snapshots(&["--path", &abs("srv/a")]).len(), 2);
    let mut c = env.cmd();
    c.current_dir(env.path("x"))
        .args(["--json", "snapshots", "--path", "docs/"]);
    let in_x: Vec<Value> = serde_json::from_slice(&exit_with(&mut c, 0).stdout).unwrap();
    assert_eq!(in_x.len(), spellings.len());

    // One snapshot kept per directory.
    env.ok(["forget", "--keep-last", "1"]);
    let mut kept: Vec<String> = env
        .snapshots(&[])
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    kept.sort();
    let mut want: Vec<String> = last.into_values().collect();
    want.sort();
    assert_eq!(kept, want);
}
