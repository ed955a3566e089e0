//! The repository: keys, config, blobs in packs, the index, trees and snapshots, over a backend.

pub mod archive;
pub mod cache;
pub mod cache_dirs;
pub mod groups;
mod identity;
pub mod index;
mod index_files;
pub mod keys;
pub mod lock;
mod pack_writer;
mod redb_guard;
mod related;
pub mod saver;
pub mod snapshots;
mod tree_packs;
pub mod trees;
pub mod walk;

use crate::backend::{Backend, FileType, ObjectLock};
use crate::chunker::{Chunker, Class, GearTable};
use crate::compress;
use crate::crypto::kdf::KdfParams;
use crate::crypto::{self, MasterKeys};
use crate::error::{bail, err};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::format::blob_entry::{blob_aad, BlobEntry, BlobType, Compression};
use crate::format::config::{ChunkerSecret, Config};
use crate::format::envelope::{self, Kind};
use crate::ids::{storage_hash, BlobId, KeyId, RepoId};
use rand::RngCore;
use std::path::PathBuf;
use std::sync::Arc;

pub use identity::{hostname, username};
pub use index::{BlobLocation, MasterIndex};
pub use index_files::INDEX_BLOBS_PER_FILE;

/// Options for opening a repository.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Where the local cache lives (default: the platform's cache directory).
    pub cache_dir: Option<PathBuf>,
    /// Use no local cache at all.
    pub no_cache: bool,
    /// How long to keep retrying when the repository is locked by another process.
    pub retry_lock: std::time::Duration,
    /// Take no lock for commands that only read (`--no-lock`).
    pub no_lock: bool,
    /// Try key files whose ID starts with this first (`--key-hint`).
    pub key_hint: Option<String>,
}

/// Most key files tried when opening a repository (each costs an argon2 derivation).
pub const MAX_KEYS_TRIED: usize = 20;
/// The key-derivation work (KiB of memory times passes) one key file may demand: eight times the
/// default parameters, about a second here. A key file asking more is skipped: it was not written by
/// backstock, which writes the defaults.
pub const MAX_KEY_WORK: u64 = 8 * 64 * 1024 * 3;
/// The work all key files tried together may demand, so that a store full of costly key files cannot
/// stall every command: room for [`MAX_KEYS_TRIED`] keys with default parameters.
pub const MAX_TOTAL_KEY_WORK: u64 = MAX_KEYS_TRIED as u64 * 64 * 1024 * 3;

/// An open repository: its store, keys, config, index and cache. Commands take their lock through it ([`Self::lock_for_reading`] and the library operations) before reading the index.
pub struct Repository {
    backend: Arc<dyn Backend>,
    keys: MasterKeys,
    config: Config,
    key_id: KeyId,
    index: MasterIndex,
    cache: Option<cache::Cache>,
    /// Tree blobs read with their pack when there is no cache (`tree_packs.rs`).
    tree_memory: tree_packs::TreeMemory,
    retry_lock: std::time::Duration,
    no_lock: bool,
    /// The lock this repository's commands hold now, checked by every write path.
    active_lock: Arc<std::sync::Mutex<Option<Arc<lock::LockState>>>>,
    lock_clock: Arc<dyn lock::Clock>,
    text: Chunker,
    media: Chunker,
    tree: Chunker,
}

impl Repository {
    /// Creates a new repository: a fresh config, master keys and the first key file.
    pub fn init(backend: Arc<dyn Backend>, password: &[u8], kdf: KdfParams) -> Result<Repository> {
        Self::init_with(backend, password, kdf, None)
    }

    /// `init` with a chosen target pack size (bytes; checked against the config bounds).
    pub fn init_with(
        backend: Arc<dyn Backend>,
        password: &[u8],
        kdf: KdfParams,
        pack_size: Option<u32>,
    ) -> Result<Repository> {
        Self::init_locked(backend, password, kdf, pack_size, None)
    }

    /// `init_with`, and with `object_lock` every file but lock files is written under retention
    /// (the store must be able to: otherwise an [`ErrorKind::Unsupported`] error, before anything
    /// is written).
    pub fn init_locked(
        backend: Arc<dyn Backend>,
        password: &[u8],
        kdf: KdfParams,
        pack_size: Option<u32>,
        object_lock: Option<ObjectLock>,
    ) -> Result<Repository> {
        let mut config = Config::new(RepoId([0; 32]), ChunkerSecret::random());
        config.object_lock = object_lock;
        Self::create(
            backend,
            password,
            kdf,
            config,
            MasterKeys::generate(),
            pack_size,
        )
    }

    /// Writes a new repository with `config` (its ID is replaced by a random one) and `keys`:
    /// refuses a location that holds a repository or repository files, then writes the key file
    /// and the config.
    fn create(
        backend: Arc<dyn Backend>,
        password: &[u8],
        kdf: KdfParams,
        mut config: Config,
        keys: MasterKeys,
        pack_size: Option<u32>,
    ) -> Result<Repository> {
        if backend.stat(FileType::Config, "config")?.is_some() {
            bail!(
                InvalidInput,
                "a repository already exists at {}",
                backend.location()
            );
        }
        // Writing a new config and key beside an old repository's files would make them unreadable.
        for t in [
            FileType::Key,
            FileType::Snapshot,
            FileType::Index,
            FileType::Pack,
        ] {
            if let Some(name) = first_file(backend.as_ref(), t)? {
                bail!(
                    InvalidInput,
                    "{} holds repository files ({}/{name}) but no config: refusing to create a repository over them. If this is a damaged repository, restore its config from a copy; otherwise choose an empty location",
                    backend.location(),
                    t.dir()
                );
            }
        }
        if let Some(size) = pack_size {
            config.pack_size = size;
            config.check().map_err(|e| {
                Error::from(e)
                    .context("pack size must be between 1 MiB and 1 GiB")
                    .with_kind(ErrorKind::InvalidInput)
            })?;
        }
        if config.object_lock.is_some() {
            config.check().map_err(|e| {
                Error::from(e)
                    .context("the object lock must last 1 to 36500 days")
                    .with_kind(ErrorKind::InvalidInput)
            })?;
        }
        // Before `create`, which makes an S3 bucket with object lock enabled, or checks it has.
        backend
            .set_object_lock(config.object_lock)
            .with_context(|| format!("creating repository at {}", backend.location()))?;
        backend
            .create()
            .with_context(|| format!("creating repository at {}", backend.location()))?;
        let mut rid = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut rid);
        config.id = RepoId(rid);
        // The key first: a config without a key would be a repository nobody can open.
        let key_id =
            keys::write_key_file(backend.as_ref(), &keys, password, kdf, &Default::default())?;
        let cbytes = envelope::seal(Kind::Config, &keys.enc, &config.encode()?, false)?;
        // Create-only: of two inits at the same moment, one config wins and the other init
        // takes its key file back, instead of leaving a key to master keys nobody uses.
        if !backend.create_file(FileType::Config, "config", &cbytes)? {
            let _ = backend.delete(FileType::Key, &key_id.to_hex());
            bail!(
                InvalidInput,
                "a repository was created at {} by another init at the same moment",
                backend.location()
            );
        }
        Ok(Self::assemble(backend, keys, config, key_id))
    }

    fn assemble(
        backend: Arc<dyn Backend>,
        keys: MasterKeys,
        config: Config,
        key_id: KeyId,
    ) -> Self {
        let table = Arc::new(GearTable::for_config(&config.chunker));
        let text = Chunker::new(table.clone(), config.chunker.text);
        let media = Chunker::new(table.clone(), config.chunker.media);
        let tree = Chunker::new(table, config.chunker.tree);
        Repository {
            backend,
            keys,
            config,
            key_id,
            index: MasterIndex::default(),
            cache: None,
            tree_memory: tree_packs::TreeMemory::default(),
            retry_lock: std::time::Duration::ZERO,
            no_lock: false,
            active_lock: Arc::default(),
            lock_clock: Arc::new(lock::BootClock),
            text,
            media,
            tree,
        }
    }

    /// Opens an existing repository with a password. Does not load the index (see `load_index`).
    pub fn open(
        backend: Arc<dyn Backend>,
        password: &[u8],
        opts: &OpenOptions,
    ) -> Result<Repository> {
        let loc = backend.location();
        let cbytes = match backend.stat(FileType::Config, "config")? {
            Some(_) => backend.read(FileType::Config, "config")?,
            None => {
                for t in [FileType::Key, FileType::Snapshot, FileType::Index] {
                    if let Some(name) = first_file(backend.as_ref(), t)? {
                        bail!(
                            Damaged,
                            "{loc} has no config file but holds {}/{name}: the repository looks damaged. Do not run `init` there (it would refuse); restore the config from a copy of the repository",
                            t.dir()
                        );
                    }
                }
                bail!(
                    NoRepository,
                    "no repository at {loc} (run `backstock init` first, or check --repo / BACKSTOCK_REPOSITORY)"
                );
            }
        };
        let cache_base = opts.cache_dir.as_deref();
        let hint = (!opts.no_cache)
            .then(|| cache::read_key_hint(cache_base, &cbytes))
            .flatten();
        let (keys, key_id) =
            keys::open_keys(backend.as_ref(), password, opts.key_hint.as_deref(), hint)?;
        let plain = envelope::open(Kind::Config, &keys.enc, &cbytes)
            .with_context(|| format!("reading {loc}/config"))?;
        let config = Config::decode(&plain).with_context(|| format!("decoding {loc}/config"))?;
        if let Some(lock) = config.object_lock {
            backend.set_object_lock(Some(lock)).with_context(|| {
                format!(
                    "opening {loc}: this repository keeps its files under retention ({} days, \
                     {} mode; set at init)",
                    lock.days,
                    lock.mode.name()
                )
            })?;
        }
        let mut repo = Self::assemble(backend, keys, config, key_id);
        repo.retry_lock = opts.retry_lock;
        repo.no_lock = opts.no_lock;
        if !opts.no_cache {
            if hint != Some(key_id) {
                if let Err(e) = cache::write_key_hint(cache_base, &cbytes, &key_id) {
                    log::warn!("{e:#}");
                }
            }
            match cache::Cache::open(cache_base, &repo.config.id) {
                Ok(c) => repo.cache = Some(c),
                Err(e) => log::warn!("running without the local cache: {e:#}"),
            }
        }
        Ok(repo)
    }

    /// Remembers, in the cache directory `cache_base` (default: [`cache::default_base`]), that this
    /// repository's key file is the one to try first.
    pub fn remember_key(&self, cache_base: Option<&std::path::Path>) -> Result<()> {
        let cbytes = self.backend.read(FileType::Config, "config")?;
        cache::write_key_hint(cache_base, &cbytes, &self.key_id)
    }

    /// Replaces the clock lock lapses are measured on (tests advance their own).
    pub fn set_lock_clock(&mut self, clock: Arc<dyn lock::Clock>) {
        self.lock_clock = clock;
    }

    /// Fails with [`ErrorKind::Refused`], before anything is
    /// changed, when the storage does not let this client delete (a server in append-only mode).
    /// `command` names what needs the deletes, for the message.
    pub fn require_deletes(&self, command: &str) -> Result<()> {
        if self.backend.deletes_allowed()? {
            return Ok(());
        }
        Err(err!(
            Refused,
            "{} does not allow deleting files (a server in append-only mode): {command} deletes files, so it cannot run against it; nothing was changed. Run it against the same repository where deletes are allowed (a server without --append-only)",
            self.backend.location()
        ))
    }

    /// The store.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }
    /// The store, shared (for threads that outlive a borrow).
    pub fn backend_arc(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }
    /// The repository config, fixed at `init`.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The master keys stay inside the library: callers ask the repository for decoded things.
    pub(crate) fn keys(&self) -> &MasterKeys {
        &self.keys
    }
    /// How long taking a lock keeps retrying.
    pub fn retry_lock(&self) -> std::time::Duration {
        self.retry_lock
    }
    /// The key file the repository was opened with.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    pub(crate) fn set_key_id(&mut self, id: KeyId) {
        self.key_id = id;
    }
    /// The index as last loaded (empty until a lock is taken and it is loaded).
    pub fn index(&self) -> &MasterIndex {
        &self.index
    }
    /// Replaces the in-memory index (after a command rewrote it).
    pub fn set_index(&mut self, index: MasterIndex) {
        self.index = index;
    }
    /// The local cache, unless opened without one.
    pub fn cache(&self) -> Option<&cache::Cache> {
        self.cache.as_ref()
    }
    /// The chunker for serialized tree streams.
    pub fn tree_chunker(&self) -> &Chunker {
        &self.tree
    }
    /// The chunker for file content of `class`.
    pub fn chunker(&self, class: Class) -> &Chunker {
        match class {
            Class::Text => &self.text,
            Class::Media => &self.media,
        }
    }

    /// Reads a file named by the hash of its bytes, checking the name.
    pub fn read_verified(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let bytes = self.backend.read(t, name)?;
        if hex::encode(storage_hash(&bytes)) != name {
            bail!(
                Corrupt,
                "{}/{}/{name} is corrupt: its content does not match its name",
                self.backend.location(),
                t.dir()
            );
        }
        Ok(bytes)
    }

    /// Deletes a repository file. Only under a live exclusive lock: not if this command's lock has
    /// lapsed or its file is gone (another host may then already be relying on what this command
    /// would delete), nor under a shared lock or none.
    pub fn delete(&self, t: FileType, name: &str) -> Result<()> {
        self.require_exclusive_lock()?;
        Ok(self.backend.delete(t, name)?)
    }

    /// Seals one blob: compresses when asked and it helps, then encrypts.
    pub fn seal_blob(
        &self,
        t: BlobType,
        plaintext: &[u8],
        try_compress: bool,
    ) -> Result<(Compression, Vec<u8>)> {
        let compressed = if try_compress {
            let c = compress::compress(plaintext, self.config.compression_level);
            (c.len() < plaintext.len()).then_some(c)
        } else {
            None
        };
        Ok(match compressed {
            Some(c) => (
                Compression::Zstd,
                crypto::seal(&self.keys.enc, &blob_aad(t, Compression::Zstd), &c)?,
            ),
            None => (
                Compression::None,
                crypto::seal(&self.keys.enc, &blob_aad(t, Compression::None), plaintext)?,
            ),
        })
    }

    /// Decrypts, decompresses and verifies a sealed blob against its entry.
    pub fn open_blob(&self, entry: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>> {
        open_blob(&self.keys, entry, sealed)
    }

    /// [`Self::open_blob`] decrypting in place: `sealed` is overwritten, and an uncompressed
    /// blob's plaintext is returned as a part of it, without a copy.
    pub fn open_blob_in_place<'a>(
        &self,
        entry: &BlobEntry,
        sealed: &'a mut [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>> {
        open_blob_in_place(&self.keys, entry, sealed)
    }

    /// Reads one blob by ID through the index (tree blobs through the cache).
    pub fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>> {
        let loc = self
            .index
            .get(id)
            .ok_or_else(|| err!(NotFound, "blob {id} is not in the index"))?;
        let is_tree = loc.entry.blob_type == BlobType::Tree;
        if let Some(c) = self.cache.as_ref().filter(|_| is_tree) {
            if let Some(sealed) = c.get_tree(id).ok().flatten() {
                match self.open_blob(&loc.entry, &sealed) {
                    Ok(plain) => return Ok(plain),
                    Err(e) => {
                        c.discard_damaged(&format!("tree {id}: {e:#}"));
                        let _ = c.remove_tree(id);
                    }
                }
            }
        }
        if is_tree {
            if self.cache.is_none() {
                if let Some(plain) = self
                    .tree_memory
                    .get(id)
                    .and_then(|sealed| self.open_blob(&loc.entry, &sealed).ok())
                {
                    return Ok(plain);
                }
            }
            if let Some(plain) = self.read_tree_with_its_pack(&loc) {
                return Ok(plain);
            }
        }
        let sealed = self
            .backend
            .read_range(
                FileType::Pack,
                &loc.pack.to_hex(),
                loc.entry.offset as u64,
                loc.entry.stored_len as u64,
            )
            .with_context(|| format!("reading blob {id}"))?;
        let plain = self
            .open_blob(&loc.entry, &sealed)
            .with_context(|| format!("in pack {}", loc.pack))?;
        if is_tree {
            self.cache_trees(&[(*id, sealed)]);
        }
        Ok(plain)
    }

    /// Reads a pack's header with two range reads (trailer, then header), without the blobs.
    pub fn read_pack_header(&self, pack: &crate::ids::PackId, size: u64) -> Result<Vec<BlobEntry>> {
        use crate::format::pack::{decode_trailer, parse_header, TRAILER_LEN};
        let name = pack.to_hex();
        let t = TRAILER_LEN as u64;
        if size < t {
            bail!(Corrupt, "pack {pack} is only {size} bytes long");
        }
        let trailer = self
            .backend
            .read_range(FileType::Pack, &name, size - t, t)?;
        let header_len =
            decode_trailer(&trailer, size).with_context(|| format!("pack {pack}"))? as u64;
        let start = size - t - header_len;
        let sealed = self
            .backend
            .read_range(FileType::Pack, &name, start, header_len)?;
        parse_header(&self.keys.enc, &sealed, start)
            .with_context(|| format!("reading the header of pack {pack}"))
    }

    /// Decodes the header of a whole pack file read by the caller (its trailer and sealed header).
    pub fn parse_pack(&self, bytes: &[u8]) -> Result<Vec<BlobEntry>> {
        Ok(crate::format::pack::parse(&self.keys.enc, bytes)?)
    }

    /// Seals `payload` as a repository file of kind `kind` (config, index, snapshot, pack header,
    /// lock) with this repository's key: for tools and tests that write such files themselves.
    pub fn seal_file(&self, kind: Kind, payload: &[u8], compress: bool) -> Result<Vec<u8>> {
        Ok(envelope::seal(kind, &self.keys.enc, payload, compress)?)
    }

    /// Opens a sealed repository file of kind `kind`, returning its plaintext payload.
    pub fn open_file(&self, kind: Kind, bytes: &[u8]) -> Result<Vec<u8>> {
        Ok(envelope::open(kind, &self.keys.enc, bytes)?)
    }

    /// Puts sealed tree blobs into the cache, if there is one. Cache failures only warn.
    pub fn cache_trees(&self, items: &[(BlobId, Vec<u8>)]) {
        if let Some(c) = &self.cache {
            if let Err(e) = c.put_trees(items) {
                log::warn!("{e:#}");
            }
        }
    }
}

/// Decrypts, decompresses and verifies a sealed blob against its entry (which may come from a
/// hostile index: every length in it is checked against what the bytes hold).
pub fn open_blob(keys: &MasterKeys, entry: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>> {
    let body = crypto::open(
        &keys.enc,
        &blob_aad(entry.blob_type, entry.compression),
        sealed,
    )
    .map_err(|e| err!(Corrupt, "blob {} cannot be decrypted: {e}", entry.id))?;
    let plain = match entry.compression {
        Compression::None => body,
        Compression::Zstd => decompress_blob(entry, &body)?,
    };
    verify_blob(keys, entry, &plain)?;
    Ok(plain)
}

/// [`open_blob`] decrypting in place.
pub fn open_blob_in_place<'a>(
    keys: &MasterKeys,
    entry: &BlobEntry,
    sealed: &'a mut [u8],
) -> Result<std::borrow::Cow<'a, [u8]>> {
    let body = crypto::open_in_place(
        &keys.enc,
        &blob_aad(entry.blob_type, entry.compression),
        sealed,
    )
    .map_err(|e| err!(Corrupt, "blob {} cannot be decrypted: {e}", entry.id))?;
    let plain = match entry.compression {
        Compression::None => std::borrow::Cow::Borrowed(&*body),
        Compression::Zstd => std::borrow::Cow::Owned(decompress_blob(entry, body)?),
    };
    verify_blob(keys, entry, &plain)?;
    Ok(plain)
}

fn decompress_blob(entry: &BlobEntry, body: &[u8]) -> Result<Vec<u8>> {
    if entry.raw_len > crate::format::blob_entry::MAX_RAW_LEN {
        bail!(
            Corrupt,
            "blob {}: raw length {} is out of bounds",
            entry.id,
            entry.raw_len
        );
    }
    compress::decompress_exact(body, entry.raw_len as usize)
        .map_err(|e| err!(Corrupt, "blob {}: {e}", entry.id))
}

fn verify_blob(keys: &MasterKeys, entry: &BlobEntry, plain: &[u8]) -> Result<()> {
    if plain.len() != entry.raw_len as usize || keys.blob_id(plain) != entry.id {
        bail!(
            Corrupt,
            "blob {} is corrupt: its content does not match its ID",
            entry.id
        );
    }
    Ok(())
}

/// The name of some file of type `t`, if there is any; a store without that directory has none.
fn first_file(backend: &dyn Backend, t: FileType) -> Result<Option<String>> {
    match backend.list(t) {
        Ok(v) => Ok(v.into_iter().next().map(|(n, _)| n)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A warning through the `log` facade (the CLI prints it as `warning: <msg>` unless `--quiet`).
/// Goes once the upper layers (archiver, restorer, maintenance, inspect) call `log::warn!` directly.
pub fn log_warning(msg: &str) {
    log::warn!("{msg}");
}
