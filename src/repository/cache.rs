//! Local per-repository cache of index files and tree blobs, both exactly as sealed in the repository.
//!
//! Trust model: nothing read from the cache is believed until it verifies as if it had just come from
//! the repository (an index file's bytes hash to its name and open with the master key; a tree blob
//! opens and hashes to its blob ID), so a damaged or tampered cache can cost a re-read, never wrong
//! data. The repository layer does that verification ([`super::Repository`]); this module only stores.
//!
//! One redb database per repository at `<base>/<repo id hex>/cache.redb`. Everything in it can be
//! rebuilt from the repository, so most commits are non-durable (no fsync). redb never frees pages
//! in a non-durable commit, so a crash leaves the file at its last durable commit: entries written
//! since are lost, but reads never see a torn state. Every `DURABLE_EVERY`th write and every
//! retain commit durably, persisting earlier non-durable commits too; so does dropping the
//! `Cache` (redb's `Database::drop` makes a durable quick-repair commit).

use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::error::{err, Context, Error, Result};
use redb::{
    Builder, Database, DatabaseError, Durability, ReadableTable, TableDefinition, WriteTransaction,
};

use super::redb_guard::guarded;
use crate::ids::{BlobId, IndexId, KeyId, RepoId};

type Table = TableDefinition<'static, [u8; 32], &'static [u8]>;

/// Index file ID -> the index file's sealed bytes.
const INDEX_FILES: Table = TableDefinition::new("index_files");
/// Blob ID -> sealed blob bytes exactly as stored in the pack.
const TREE_BLOBS: Table = TableDefinition::new("tree_blobs");

/// Non-durable write transactions allowed between two durable ones. Bounds both what a crash
/// loses and how far the file grows, since pages are only reclaimed by durable commits.
const DURABLE_EVERY: u32 = 16;
/// redb's in-memory page cache (its default is 1 GiB); the OS page cache does the rest. Kept small
/// because this memory adds to a backup's peak RSS on top of the in-memory index (figures in
/// docs/benchmarks.md, "A 10-million-blob index").
const MEMORY_CACHE_BYTES: usize = 16 << 20;

/// `$XDG_CACHE_HOME/backstock`, else `$HOME/.cache/backstock` (the platform's cache directory, as
/// `dirs` finds it: a relative `XDG_CACHE_HOME` is ignored, as the XDG spec says, and without
/// `HOME` the home directory comes from the user database).
pub fn default_base() -> Result<PathBuf> {
    let dir = dirs::cache_dir().ok_or_else(|| {
        crate::error::err!(
            NotFound,
            "no cache directory: neither XDG_CACHE_HOME nor HOME is set"
        )
    })?;
    Ok(dir.join("backstock"))
}

/// Why the cache file could not be opened.
#[derive(Debug)]
enum OpenFailure {
    Db(DatabaseError),
    /// redb panicked instead of returning an error: it does on some damaged files (a flipped byte
    /// in its region allocator's state).
    Panicked(String),
}

impl std::fmt::Display for OpenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenFailure::Db(e) => e.fmt(f),
            OpenFailure::Panicked(what) => write!(f, "the database library panicked: {what}"),
        }
    }
}

fn create_db(path: &Path) -> std::result::Result<Database, OpenFailure> {
    let opened = guarded(|| {
        Builder::new()
            .set_cache_size(MEMORY_CACHE_BYTES)
            .create_with_file_format_v3(true)
            .create(path)
    });
    match opened {
        Ok(r) => r.map_err(OpenFailure::Db),
        Err(what) => Err(OpenFailure::Panicked(what)),
    }
}

/// Creates `dir` (and its parents) readable by the owner only: the cache names the repository's
/// blobs and packs.
fn private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating cache directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting the mode of cache directory {}", dir.display()))
}

/// Creates the cache file 0600 before redb opens it (redb would create it with the umask's mode);
/// a file left by an older version is made 0600 too.
fn precreate_private(path: &Path) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)))
        .with_context(|| format!("creating cache file {}", path.display()))
}

/// Where the ID of the key file that opened a repository last time is remembered: named by the
/// hash of the repository's sealed config (readable before any key is opened, unique per repository).
fn key_hint_path(base: Option<&Path>, config_bytes: &[u8]) -> Result<PathBuf> {
    let base = match base {
        Some(b) => b.to_path_buf(),
        None => default_base()?,
    };
    let name = hex::encode(&crate::ids::storage_hash(config_bytes)[..16]);
    Ok(base.join("key-hints").join(name))
}

/// The key file that opened this repository last time, if remembered. Only an ordering hint: a wrong
/// or tampered hint costs one key derivation.
pub fn read_key_hint(base: Option<&Path>, config_bytes: &[u8]) -> Option<KeyId> {
    let p = key_hint_path(base, config_bytes).ok()?;
    let text = std::fs::read_to_string(p).ok()?;
    KeyId::from_hex(text.trim()).ok()
}

/// Remembers `key` as the key file that opened the repository with this sealed config (best effort for callers; fails on I/O).
pub fn write_key_hint(base: Option<&Path>, config_bytes: &[u8], key: &KeyId) -> Result<()> {
    let p = key_hint_path(base, config_bytes)?;
    if let Some(dir) = p.parent() {
        private_dir(dir)?;
    }
    // A name of our own per process, so that two processes writing the hint never share one.
    let tmp = p.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, key.to_hex().as_bytes()))
        .and_then(|_| std::fs::rename(&tmp, &p))
        .with_context(|| format!("writing {}", p.display()))
}

/// The local cache (design.md §9): a redb database of sealed index files and tree blobs, keyed by ID.
pub struct Cache {
    /// Always `Some` until the cache is dropped (see `Drop`).
    db: Option<Database>,
    path: PathBuf,
    /// Non-durable commits since the last durable one.
    pending: AtomicU32,
    /// Whether a damaged entry was reported already (once per process is enough).
    reported: AtomicBool,
    /// Set when redb panicked: the database's state is unknown, so it is not touched again in this
    /// process, and its file is gone (the next run starts an empty cache).
    broken: AtomicBool,
}

impl Cache {
    /// Opens or creates the cache for this repository under `base` (default: [`default_base`]).
    ///
    /// Fails without blocking if another process has it open (the error's root cause is then
    /// [`DatabaseError::DatabaseAlreadyOpen`]), and fails if the file is not a valid database;
    /// the caller may then run without a cache. After a crash, redb repairs the file here.
    pub fn open(base: Option<&Path>, repo: &RepoId) -> Result<Cache> {
        let dir = match base {
            Some(base) => base.to_path_buf(),
            None => default_base()?,
        }
        .join(repo.to_hex());
        private_dir(&dir)?;
        // The directory's mtime says when the cache was last used (`cache --cleanup`).
        let _ = filetime::set_file_mtime(&dir, filetime::FileTime::now());
        let path = dir.join("cache.redb");
        precreate_private(&path)?;
        let db = match create_db(&path) {
            Ok(db) => db,
            Err(OpenFailure::Db(e @ DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(Error::from(e).context(format!(
                    "cache {} is in use by another process",
                    path.display()
                )))
            }
            // Only a cache: a file redb cannot open is replaced by an empty one.
            Err(e) => {
                log::warn!(
                    "the local cache {} is damaged ({e}); starting a new one",
                    path.display()
                );
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing damaged cache {}", path.display()))?;
                precreate_private(&path)?;
                create_db(&path)
                    .map_err(|e| err!(Io, "cache {} cannot be created: {e}", path.display()))?
            }
        };
        let cache = Cache {
            db: Some(db),
            path,
            pending: AtomicU32::new(0),
            reported: AtomicBool::new(false),
            broken: AtomicBool::new(false),
        };
        // Create both tables up front so that readers never meet a missing table.
        cache.write(false, |txn| {
            txn.open_table(INDEX_FILES)?;
            txn.open_table(TREE_BLOBS)?;
            Ok(())
        })?;
        Ok(cache)
    }

    /// Drops an entry that failed verification, and says so the first time in this process.
    pub fn discard_damaged(&self, what: &str) {
        if !self.reported.swap(true, Ordering::Relaxed) {
            log::warn!(
                "the local cache {} holds a damaged entry ({what}); ignoring it and reading the repository instead",
                self.path.display()
            );
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The IDs of the index files in the cache.
    pub fn index_ids(&self) -> Result<Vec<IndexId>> {
        let read = || -> Result<Vec<IndexId>> {
            let txn = self.db()?.begin_read()?;
            let table = txn.open_table(INDEX_FILES)?;
            let mut ids = Vec::new();
            for entry in table.iter()? {
                ids.push(IndexId(entry?.0.value()));
            }
            Ok(ids)
        };
        self.guard(read)
            .with_context(|| format!("listing index files in cache {}", self.path.display()))
    }

    /// An index file's sealed bytes, if cached.
    pub fn get_index(&self, id: &IndexId) -> Result<Option<Vec<u8>>> {
        self.get(INDEX_FILES, &id.0)
    }

    /// Stores an index file's sealed bytes.
    pub fn put_index(&self, id: &IndexId, sealed: &[u8]) -> Result<()> {
        self.write(false, |txn| {
            txn.open_table(INDEX_FILES)?.insert(id.0, sealed)?;
            Ok(())
        })
    }

    /// Drops an index file from the cache; absent is not an error.
    pub fn remove_index(&self, id: &IndexId) -> Result<()> {
        self.remove(INDEX_FILES, &id.0)
    }

    /// Drops a tree blob from the cache; absent is not an error.
    pub fn remove_tree(&self, id: &BlobId) -> Result<()> {
        self.remove(TREE_BLOBS, &id.0)
    }

    /// Deletes cached index files not in `keep` (index files removed from the repository).
    /// Returns how many were removed.
    pub fn retain_index(&self, keep: &HashSet<IndexId>) -> Result<usize> {
        self.retain(INDEX_FILES, |key| keep.contains(&IndexId(key)))
    }

    /// A tree blob's sealed bytes, if cached.
    pub fn get_tree(&self, id: &BlobId) -> Result<Option<Vec<u8>>> {
        self.get(TREE_BLOBS, &id.0)
    }

    /// Stores many tree blobs in one write transaction.
    pub fn put_trees(&self, items: &[(BlobId, Vec<u8>)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.write(false, |txn| {
            let mut table = txn.open_table(TREE_BLOBS)?;
            for (id, bytes) in items {
                table.insert(id.0, bytes.as_slice())?;
            }
            Ok(())
        })
    }

    /// Deletes cached tree blobs not in `keep`. Returns how many were removed.
    pub fn retain_trees(&self, keep: &HashSet<BlobId>) -> Result<usize> {
        self.retain(TREE_BLOBS, |key| keep.contains(&BlobId(key)))
    }

    fn get(&self, def: Table, key: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let read = || -> Result<Option<Vec<u8>>> {
            let txn = self.db()?.begin_read()?;
            let value = txn.open_table(def)?.get(key)?;
            Ok(value.map(|v| v.value().to_vec()))
        };
        self.guard(read)
            .with_context(|| format!("reading {def} from cache {}", self.path.display()))
    }

    fn remove(&self, def: Table, key: &[u8; 32]) -> Result<()> {
        self.write(false, |txn| {
            txn.open_table(def)?.remove(key)?;
            Ok(())
        })
    }

    fn retain(&self, def: Table, keep: impl Fn([u8; 32]) -> bool) -> Result<usize> {
        self.write(true, |txn| {
            let mut removed = 0;
            txn.open_table(def)?.retain(|key, _| {
                let kept = keep(key);
                removed += usize::from(!kept);
                kept
            })?;
            Ok(removed)
        })
    }

    /// Runs `f` in a write transaction and commits it, durably if `durable` or if enough
    /// non-durable commits have piled up. `f` returning an error aborts the transaction.
    fn write<T>(&self, durable: bool, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let run = || -> Result<T> {
            let mut txn = self.db()?.begin_write()?;
            let durable =
                durable || self.pending.fetch_add(1, Ordering::Relaxed) + 1 >= DURABLE_EVERY;
            if durable {
                // Saves allocator state in each durable commit, so reopening after a crash does
                // not have to walk the whole file.
                txn.set_quick_repair(true);
            } else {
                txn.set_durability(Durability::None);
            }
            let value = f(&txn)?;
            txn.commit()?;
            if durable {
                self.pending.store(0, Ordering::Relaxed);
            }
            Ok(value)
        };
        self.guard(run)
            .with_context(|| format!("writing to cache {}", self.path.display()))
    }

    fn db(&self) -> Result<&Database> {
        self.db
            .as_ref()
            .ok_or_else(|| err!(Other, "the cache was closed"))
    }

    /// Runs a redb call unless redb panicked before; a panic now marks the cache broken, removes
    /// its file and says so once.
    fn guard<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(err!(Io, "the cache is not used after its database failed"));
        }
        guarded(f).unwrap_or_else(|what| {
            if !self.broken.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "the local cache {} is damaged (the database library panicked: {what}); not using it any more, and starting a new one next time",
                    self.path.display()
                );
                // The next open creates an empty one; until then nothing here reads it again.
                let _ = std::fs::remove_file(&self.path);
            }
            Err(err!(Io, "the database library panicked: {what}"))
        })
    }
}

/// Closing the database makes a durable commit, which can meet the same damage as any other
/// call: it is guarded too. A database redb panicked on is not closed at all (its state is
/// unknown); its file is already gone.
impl Drop for Cache {
    fn drop(&mut self) {
        let db = self.db.take();
        if self.broken.load(Ordering::Relaxed) {
            std::mem::forget(db);
        } else if let Err(what) = guarded(move || drop(db)) {
            log::warn!(
                "closing the local cache {} failed (the database library panicked: {what})",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: RepoId = RepoId([7; 32]);

    fn trees(range: std::ops::Range<u8>) -> Vec<(BlobId, Vec<u8>)> {
        range.map(|i| (BlobId([i; 32]), vec![i; 100])).collect()
    }

    fn open(dir: &tempfile::TempDir) -> Cache {
        Cache::open(Some(dir.path()), &REPO).unwrap()
    }

    #[test]
    fn round_trips_and_concurrent_use() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Cache>();
        let dir = tempfile::tempdir().unwrap();
        let cache = open(&dir);
        assert_eq!(
            cache.path(),
            dir.path().join(REPO.to_hex()).join("cache.redb")
        );
        assert!(cache.index_ids().unwrap().is_empty());
        assert_eq!(cache.get_index(&IndexId([1; 32])).unwrap(), None);
        cache.put_index(&IndexId([2; 32]), b"two").unwrap();
        cache.put_index(&IndexId([1; 32]), b"one").unwrap();
        cache.put_index(&IndexId([1; 32]), b"uno").unwrap();
        assert_eq!(
            cache.index_ids().unwrap(),
            [IndexId([1; 32]), IndexId([2; 32])]
        );
        assert_eq!(cache.get_index(&IndexId([1; 32])).unwrap().unwrap(), b"uno");
        cache.put_trees(&[]).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let cache = &cache;
                s.spawn(move || cache.put_trees(&trees(t * 50..t * 50 + 50)).unwrap());
            }
        });
        for (id, bytes) in trees(0..200) {
            assert_eq!(cache.get_tree(&id).unwrap(), Some(bytes));
        }
        assert_eq!(cache.get_tree(&BlobId([255; 32])).unwrap(), None);
    }

    #[test]
    fn directory_0700_and_file_0600() {
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let base = dir.path().join("base");
        let cache = Cache::open(Some(&base), &REPO).unwrap();
        assert_eq!(mode(&base), 0o700);
        assert_eq!(mode(cache.path().parent().unwrap()), 0o700);
        assert_eq!(mode(cache.path()), 0o600);
        let path = cache.path().to_path_buf();
        drop(cache);
        // A cache file an older version left readable by others is made private.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Cache::open(Some(&base), &REPO).unwrap());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn retain_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(&dir);
        for i in 0..5 {
            cache.put_index(&IndexId([i; 32]), &[i]).unwrap();
        }
        let keep = HashSet::from([IndexId([1; 32]), IndexId([3; 32]), IndexId([9; 32])]);
        assert_eq!(cache.retain_index(&keep).unwrap(), 3);
        assert_eq!(
            cache.index_ids().unwrap(),
            [IndexId([1; 32]), IndexId([3; 32])]
        );
        assert_eq!(cache.retain_index(&keep).unwrap(), 0);
        cache.put_trees(&trees(0..10)).unwrap();
        let keep: HashSet<BlobId> = trees(0..4).into_iter().map(|(id, _)| id).collect();
        assert_eq!(cache.retain_trees(&keep).unwrap(), 6);
        assert!(cache.get_tree(&BlobId([3; 32])).unwrap().is_some());
        assert!(cache.get_tree(&BlobId([4; 32])).unwrap().is_none());
    }

    #[test]
    fn reopening_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(&dir);
        cache.put_index(&IndexId([1; 32]), b"one").unwrap();
        // Crosses DURABLE_EVERY and ends with non-durable commits, which closing must persist.
        let n = DURABLE_EVERY as u8 + 3;
        for i in 0..n {
            cache.put_trees(&trees(i..i + 1)).unwrap();
        }
        drop(cache);
        let cache = open(&dir);
        assert_eq!(cache.get_index(&IndexId([1; 32])).unwrap().unwrap(), b"one");
        for (id, bytes) in trees(0..n) {
            assert_eq!(cache.get_tree(&id).unwrap(), Some(bytes));
        }
        let other = Cache::open(Some(dir.path()), &RepoId([8; 32])).unwrap();
        assert!(other.index_ids().unwrap().is_empty());
    }

    #[test]
    fn second_open_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(&dir);
        let start = std::time::Instant::now();
        let err = Cache::open(Some(dir.path()), &REPO).err().unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert!(format!("{err:#}").contains(&first.path().display().to_string()));
        let cause = err.find::<DatabaseError>();
        assert!(
            matches!(cause, Some(DatabaseError::DatabaseAlreadyOpen)),
            "{err:#}"
        );
        drop(first);
        open(&dir);
    }

    #[test]
    fn a_panic_inside_the_database_retires_the_cache_and_removes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(&dir);
        cache.put_index(&IndexId([1; 32]), b"one").unwrap();
        let e = cache
            .guard(|| -> Result<()> { panic!("bitmap.rs:105 index out of bounds") })
            .unwrap_err();
        assert!(format!("{e:#}").contains("bitmap.rs:105"), "{e:#}");
        assert!(!cache.path().exists(), "the damaged file stays");
        // Nothing touches the database again: every call fails at once, and dropping it is quiet.
        assert!(cache.get_index(&IndexId([1; 32])).is_err());
        assert!(cache.put_index(&IndexId([2; 32]), b"two").is_err());
        drop(cache);
        // The next open starts an empty cache.
        assert!(open(&dir).index_ids().unwrap().is_empty());
    }

    #[test]
    fn a_file_redb_cannot_open_is_replaced_by_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = open(&dir).path().to_path_buf();
        std::fs::write(&path, vec![0xA5; 10_000]).unwrap();
        let cache = Cache::open(Some(dir.path()), &REPO).unwrap();
        assert!(cache.index_ids().unwrap().is_empty());
        cache.put_index(&IndexId([1; 32]), b"one").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    /// Run by `crash_leaves_a_readable_cache` in a child process, which aborts mid-session.
    #[test]
    #[ignore = "helper for crash_leaves_a_readable_cache"]
    fn crash_child() {
        let Some(dir) = std::env::var_os("BACKSTOCK_CACHE_CRASH_DIR") else {
            return;
        };
        let cache = Cache::open(Some(Path::new(&dir)), &REPO).unwrap();
        cache.put_trees(&trees(0..100)).unwrap();
        cache.retain_trees(&HashSet::new()).unwrap(); // durable
        cache.put_trees(&trees(0..50)).unwrap();
        cache.retain_index(&HashSet::new()).unwrap(); // durable
        for i in 50..100 {
            cache.put_trees(&trees(i..i + 1)).unwrap();
        }
        std::process::abort();
    }

    #[test]
    fn crash_leaves_a_readable_cache() {
        let dir = tempfile::tempdir().unwrap();
        let module = module_path!().split_once("::").unwrap().1;
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &format!("{module}::crash_child"), "--ignored"])
            .env("BACKSTOCK_CACHE_CRASH_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "child did not crash");
        let cache = open(&dir);
        for (id, bytes) in trees(0..100) {
            // Entries up to the last durable commit survive; later ones may be lost.
            let got = cache.get_tree(&id).unwrap();
            assert!(
                got == Some(bytes) || (id.0[0] >= 50 && got.is_none()),
                "{id:?}"
            );
        }
        cache.put_trees(&trees(200..210)).unwrap();
    }
}
