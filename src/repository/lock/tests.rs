use super::*;
use crate::backend::{BackendError, LocalBackend};
use crate::crypto::kdf::{KdfParams, M_COST_MIN};
use crate::format::index::IndexFile;
use crate::ids::storage_hash;
use crate::repository::hostname;
use crate::repository::OpenOptions;
use files::write_lock;
use std::time::SystemTime;

/// A clock the test advances by hand, standing in for the boot-time clock.
#[derive(Default)]
struct ManualClock(Mutex<Duration>);

impl ManualClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }
}

const KDF: KdfParams = KdfParams {
    m_cost: M_COST_MIN,
    t_cost: 1,
    p_cost: 1,
};

fn repo(dir: &tempfile::TempDir) -> Repository {
    Repository::init(
        Arc::new(LocalBackend::new(dir.path().join("r"))),
        b"pw",
        KDF,
    )
    .unwrap()
}

fn reopen(dir: &tempfile::TempDir, opts: &OpenOptions) -> Repository {
    Repository::open(
        Arc::new(LocalBackend::new(dir.path().join("r"))),
        b"pw",
        opts,
    )
    .unwrap()
}

fn snapshot() -> crate::format::snapshot::Snapshot {
    crate::format::snapshot::Snapshot {
        version: crate::format::snapshot::VERSION,
        time: chrono::Local::now().fixed_offset(),
        hostname: "h".into(),
        username: "u".into(),
        paths: vec!["/d".into()],
        tags: vec![],
        tree: Default::default(),
        parent: None,
        program_version: String::new(),
        summary: Default::default(),
        original: None,
    }
}

fn is_lost(e: &Error) -> bool {
    e.kind() == ErrorKind::LockLost
}

fn is_locked(e: &Error) -> bool {
    e.kind() == ErrorKind::Locked
}

fn lock_names(dir: &tempfile::TempDir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.path().join("r/locks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn a_lock_not_refreshed_in_time_stops_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = repo(&dir);
    let clock = Arc::new(ManualClock::default());
    repo.set_lock_clock(clock.clone());
    let guard = repo.lock(LockKind::Append).unwrap();
    repo.write_index(&IndexFile::default()).unwrap();
    // The machine sleeps through most of the lock's life: the refresher never ran.
    clock.advance(GIVE_UP_AFTER + Duration::from_secs(1));
    let err = repo.save_snapshot(&snapshot()).unwrap_err();
    assert!(is_lost(&err), "{err:#}");
    assert!(format!("{err:#}").contains("suspended"), "{err:#}");
    assert!(is_lost(
        &repo.write_index(&IndexFile::default()).unwrap_err()
    ));
    assert!(is_lost(&repo.delete(FileType::Snapshot, "ab").unwrap_err()));
    assert!(guard.confirm().is_err());
    drop(guard);
    assert!(lock_names(&dir).is_empty(), "the guard removes its lock");
    // A new lock starts afresh.
    let _guard = repo.lock(LockKind::Append).unwrap();
    repo.save_snapshot(&snapshot()).unwrap();
}

#[test]
fn a_lock_removed_by_someone_else_stops_index_and_snapshot_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = repo(&dir);
    let clock = Arc::new(ManualClock::default());
    repo.set_lock_clock(clock.clone());
    let _guard = repo.lock(LockKind::Exclusive).unwrap();
    for name in lock_names(&dir) {
        std::fs::remove_file(dir.path().join("r/locks").join(name)).unwrap();
    }
    // Deletions look at the store every few seconds, not before each file.
    clock.advance(CONFIRM_EVERY + Duration::from_secs(1));
    assert!(is_lost(&repo.delete(FileType::Snapshot, "ab").unwrap_err()));
    let err = repo.save_snapshot(&snapshot()).unwrap_err();
    assert!(is_lost(&err), "{err:#}");
    assert!(format!("{err:#}").contains("removed by another process"));
    assert!(is_lost(
        &repo.write_index(&IndexFile::default()).unwrap_err()
    ));
    assert!(repo.backend().list(FileType::Snapshot).unwrap().is_empty());
}

fn info(exclusive: bool, me: &HostIdentity) -> LockInfo {
    LockInfo {
        time: Utc::now(),
        hostname: me.hostname.clone(),
        username: "u".into(),
        pid: std::process::id(),
        exclusive,
        machine_id: me.machine_id.clone(),
        boot_id: me.boot_id.clone(),
        pid_ns: me.pid_ns,
    }
}

fn set_age(dir: &tempfile::TempDir, name: &str, age: Duration) {
    let t = filetime::FileTime::from_system_time(SystemTime::now() - age);
    filetime::set_file_mtime(dir.path().join("r/locks").join(name), t).unwrap();
}

#[test]
fn an_unreadable_lock_conflicts_until_the_storage_clock_shows_it_old() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(&dir);
    // A lock a newer version wrote, or a damaged one: bytes that do not open.
    let junk = b"not a lock this version can read".to_vec();
    let name = hex::encode(storage_hash(&junk));
    repo.backend().write(FileType::Lock, &name, &junk).unwrap();
    for kind in [LockKind::Exclusive, LockKind::Append] {
        let err = repo.lock(kind).err().unwrap();
        assert!(is_locked(&err), "{err:#}");
        assert!(format!("{err:#}").contains(&name), "{err:#}");
    }
    assert_eq!(repo.unlock(false).unwrap(), Vec::<String>::new());
    assert_eq!(lock_names(&dir), vec![name.clone()]);
    set_age(&dir, &name, STALE_AFTER + Duration::from_secs(60));
    drop(repo.lock(LockKind::Exclusive).unwrap());
    assert_eq!(repo.unlock(false).unwrap(), vec![name]);
    assert!(lock_names(&dir).is_empty());
}

#[test]
fn a_live_lock_from_a_host_with_a_slow_clock_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(&dir);
    let mut other = info(true, &HostIdentity::default());
    other.hostname = "other-host".into();
    // Its clock is two hours behind, but the storage saw it written just now.
    other.time = Utc::now() - chrono::Duration::hours(2);
    let name = write_lock(repo.backend(), &repo.keys().enc, &other).unwrap();
    let err = repo.lock(LockKind::Append).err().unwrap();
    assert!(is_locked(&err), "{err:#}");
    assert!(repo.unlock(false).unwrap().is_empty());
    // Once the storage's clock says it is old, it is stale whatever its time stamp says.
    set_age(&dir, &name, STALE_AFTER + Duration::from_secs(60));
    drop(repo.lock(LockKind::Append).unwrap());
}

#[test]
fn only_a_dead_process_of_this_very_boot_and_namespace_is_stale_before_its_age() {
    let me = HostIdentity {
        hostname: hostname(),
        machine_id: Some("m1".into()),
        boot_id: Some("b1".into()),
        pid_ns: Some(7),
        proc_mounted: true,
    };
    let fresh = Duration::from_secs(60);
    let mut l = info(false, &me);
    l.pid = u32::MAX - 1; // no such process
    assert!(stale_reason(&l, fresh, &me).is_some(), "dead process here");
    l.pid = std::process::id();
    assert!(stale_reason(&l, fresh, &me).is_none(), "live process here");
    // A clone of this machine's image (same machine ID, same initial PID namespace inode, same
    // host name) running now has another boot ID: its PIDs are not ours to look up.
    let mut clone = info(false, &me);
    clone.pid = u32::MAX - 1;
    clone.boot_id = Some("b2".into());
    assert!(stale_reason(&clone, fresh, &me).is_none());
    // Another container with the same host name, another host with the same machine ID.
    let mut c = info(false, &me);
    c.pid = u32::MAX - 1;
    c.pid_ns = Some(8);
    assert!(stale_reason(&c, fresh, &me).is_none());
    c.pid_ns = Some(7);
    c.machine_id = Some("m2".into());
    assert!(stale_reason(&c, fresh, &me).is_none());
    let mut h = info(false, &me);
    h.pid = u32::MAX - 1;
    h.hostname = "elsewhere".into();
    assert!(stale_reason(&h, fresh, &me).is_none());
    // Without /proc nothing can be said about a PID.
    let mut l = info(false, &me);
    l.pid = u32::MAX - 1;
    let blind = HostIdentity {
        proc_mounted: false,
        ..me.clone()
    };
    assert!(stale_reason(&l, fresh, &blind).is_none());
    // Locks from older versions carry no identity: age alone decides.
    let mut old = info(false, &HostIdentity::default());
    old.pid = u32::MAX - 1;
    assert!(stale_reason(&old, fresh, &me).is_none());
    assert!(stale_reason(&old, STALE_AFTER + fresh, &me).is_some());
}

#[test]
fn a_lock_of_a_dead_process_on_this_host_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(&dir);
    let mut l = info(true, &HostIdentity::current());
    l.pid = u32::MAX - 1;
    write_lock(repo.backend(), &repo.keys().enc, &l).unwrap();
    drop(repo.lock(LockKind::Exclusive).unwrap());
    assert_eq!(repo.unlock(false).unwrap().len(), 1);
}

/// A store that refuses every write and delete, as a read-only mount does.
fn read_only(root: std::path::PathBuf) -> crate::backend::hooked::Hooked {
    let refuse = |verb: &'static str| -> crate::backend::hooked::Hook {
        Box::new(move |t, name| {
            let e = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
            Err(BackendError::io(t, Some(name), format!("{verb} {name}"), e))
        })
    };
    crate::backend::hooked::Hooked {
        inner: LocalBackend::new(root),
        write: Some(refuse("creating")),
        delete: Some(refuse("deleting")),
    }
}

#[test]
fn reading_commands_work_on_a_read_only_store_and_writers_do_not() {
    let dir = tempfile::tempdir().unwrap();
    drop(repo(&dir));
    let ro = Repository::open(
        Arc::new(read_only(dir.path().join("r"))),
        b"pw",
        &OpenOptions {
            no_cache: true,
            ..Default::default()
        },
    )
    .unwrap();
    let guard = ro.lock(LockKind::Read).unwrap();
    assert!(!guard.is_held());
    for kind in [LockKind::Append, LockKind::Exclusive] {
        assert!(ro.lock(kind).is_err());
    }
}

#[test]
fn no_lock_is_only_for_readers() {
    let dir = tempfile::tempdir().unwrap();
    drop(repo(&dir));
    let opts = OpenOptions {
        no_lock: true,
        no_cache: true,
        ..Default::default()
    };
    let r = reopen(&dir, &opts);
    let g = r.lock(LockKind::Read).unwrap();
    assert!(!g.is_held());
    assert!(lock_names(&dir).is_empty());
    for kind in [LockKind::Append, LockKind::Exclusive] {
        let err = r.lock(kind).err().unwrap();
        assert!(format!("{err:#}").contains("--no-lock"), "{err:#}");
    }
}

#[test]
fn released_locks_are_gone_and_stop_their_holder() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(&dir);
    let guard = repo.lock(LockKind::Exclusive).unwrap();
    assert_eq!(lock_names(&dir).len(), 1);
    // `release_held_locks` does this for every lock of the process (other tests run beside this one).
    assert!(crate::sync::unpoisoned(&HELD).iter().any(|w| w
        .upgrade()
        .is_some_and(|s| Arc::ptr_eq(&s, guard.state.as_ref().unwrap()))));
    release(&[guard.state.clone().unwrap()]);
    assert!(lock_names(&dir).is_empty());
    assert!(is_lost(
        &repo.write_index(&IndexFile::default()).unwrap_err()
    ));
}

#[test]
fn nothing_is_deleted_without_an_exclusive_lock() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(&dir);
    let id = repo.save_snapshot(&snapshot()).unwrap().to_hex();
    let err = repo.delete(FileType::Snapshot, &id).unwrap_err();
    assert!(format!("{err:#}").contains("exclusive"), "{err:#}");
    let shared = repo.lock(LockKind::Append).unwrap();
    let err = repo.delete(FileType::Snapshot, &id).unwrap_err();
    assert!(format!("{err:#}").contains("shared"), "{err:#}");
    drop(shared);
    assert!(repo
        .backend()
        .stat(FileType::Snapshot, &id)
        .unwrap()
        .is_some());
    let _exclusive = repo.lock(LockKind::Exclusive).unwrap();
    repo.delete(FileType::Snapshot, &id).unwrap();
    assert!(repo
        .backend()
        .stat(FileType::Snapshot, &id)
        .unwrap()
        .is_none());
}
