//! The repository: keys, config, blobs in packs, the index, trees and snapshots, over a backend.

pub mod cache;
mod identity;
pub mod index;
pub mod keys;
pub mod lock;
mod pack_writer;
pub mod saver;
pub mod snapshots;
pub mod trees;

use crate::backend::{Backend, FileType};
use crate::chunker::{Chunker, Class, GearTable};
use crate::compress;
use crate::crypto::kdf::KdfParams;
use crate::crypto::{self, MasterKeys};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::format::blob_entry::{blob_aad, BlobEntry, BlobType, Compression};
use crate::format::config::{ChunkerSecret, Config};
use crate::format::envelope::{self, Kind};
use crate::format::index::IndexFile;
use crate::ids::{storage_hash, BlobId, IndexId, KeyId, RepoId};
use crate::{bail, err};
use rand::RngCore;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

pub use identity::{hostname, username};
pub use index::{BlobLocation, MasterIndex};

/// Options for opening a repository.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub cache_dir: Option<PathBuf>,
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

pub struct Repository {
    backend: Arc<dyn Backend>,
    keys: MasterKeys,
    config: Config,
    key_id: KeyId,
    index: MasterIndex,
    cache: Option<cache::Cache>,
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
        let mut config = Config::new(RepoId([0; 32]), ChunkerSecret::random());
        if let Some(size) = pack_size {
            config.pack_size = size;
            config.check().map_err(|e| {
                Error::from(e)
                    .context("pack size must be between 1 MiB and 1 GiB")
                    .with_kind(ErrorKind::InvalidInput)
            })?;
        }
        backend
            .create()
            .with_context(|| format!("creating repository at {}", backend.location()))?;
        let keys = MasterKeys::generate();
        let mut rid = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut rid);
        config.id = RepoId(rid);
        // The key first: a config without a key would be a repository nobody can open.
        let key_id = keys::write_key_file(backend.as_ref(), &keys, password, kdf)?;
        let cbytes = envelope::seal(Kind::Config, &keys.enc, &config.encode()?, false)?;
        backend.write(FileType::Config, "config", &cbytes)?;
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

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }
    pub fn backend_arc(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The master keys stay inside the library: callers ask the repository for decoded things.
    pub(crate) fn keys(&self) -> &MasterKeys {
        &self.keys
    }
    pub fn retry_lock(&self) -> std::time::Duration {
        self.retry_lock
    }
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    pub(crate) fn set_key_id(&mut self, id: KeyId) {
        self.key_id = id;
    }
    pub fn index(&self) -> &MasterIndex {
        &self.index
    }
    pub fn set_index(&mut self, index: MasterIndex) {
        self.index = index;
    }
    pub fn cache(&self) -> Option<&cache::Cache> {
        self.cache.as_ref()
    }
    /// The chunker for serialized tree streams.
    pub fn tree_chunker(&self) -> &Chunker {
        &self.tree
    }
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

    /// Loads every index file (in parallel, from the cache where it has verified copies) into the
    /// master index. Takes the lock to show it is held: the index read before the lock could lose
    /// blobs to a prune that ran in between.
    ///
    /// A damaged index file is reported and left out; its blobs count as missing (a backup then
    /// stores them again), and since a damaged file may have superseded others, entries whose pack
    /// is gone are dropped too. Commands that delete use [`Self::read_index_files`] instead.
    pub fn load_index(&mut self, _lock: &lock::LockGuard) -> Result<()> {
        // Each thread decodes one file at a time and adds it to the loader, so the decoded files are
        // never all in memory together.
        let loader = std::sync::Mutex::new(index::IndexLoader::default());
        let damaged = std::sync::Mutex::new(Vec::new());
        let ids = self.for_each_index_file(true, |id, file| match file {
            Ok(file) => {
                crate::sync::unpoisoned(&loader).add(id, &file);
                Ok(())
            }
            Err(e) => {
                crate::sync::unpoisoned(&damaged).push(format!("{e:#}"));
                Ok(())
            }
        })?;
        self.retain_cached_index(ids);
        let loader = loader.into_inner().unwrap_or_else(|e| e.into_inner());
        let damaged = damaged.into_inner().unwrap_or_else(|e| e.into_inner());
        if damaged.is_empty() {
            self.index = loader.finish();
            return Ok(());
        }
        for d in &damaged {
            log::warn!(
                "{d}; leaving it out (its blobs count as missing until `backstock repair index` runs)"
            );
        }
        let stored: std::collections::HashSet<crate::ids::PackId> = self
            .backend
            .list(FileType::Pack)?
            .into_iter()
            .filter_map(|(n, _)| crate::ids::PackId::from_hex(&n).ok())
            .collect();
        self.index = loader.finish_filtered(|p| stored.contains(p));
        Ok(())
    }

    /// Reads and decodes every index file, superseded ones included, from the repository itself
    /// (never the cache): for commands that delete, which must fail rather than act on an index they
    /// could not read whole.
    pub fn read_index_files(&self) -> Result<Vec<(IndexId, IndexFile)>> {
        let files = std::sync::Mutex::new(Vec::new());
        self.for_each_index_file(false, |id, file| {
            let file = file.context("run `backstock repair index` first")?;
            crate::sync::unpoisoned(&files).push((id, file));
            Ok(())
        })?;
        let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
        files.sort_by_key(|(id, _)| *id);
        Ok(files)
    }

    /// The master index built from the repository's own index files (never the cache), failing on
    /// any damaged one: for commands that delete.
    pub fn load_index_strict(&mut self, _lock: &lock::LockGuard) -> Result<()> {
        self.index = MasterIndex::from_files(self.read_index_files()?);
        Ok(())
    }

    /// Drops cached index files that are no longer in the repository.
    fn retain_cached_index(&self, ids: std::collections::HashSet<IndexId>) {
        if let Some(c) = &self.cache {
            if let Err(e) = c.retain_index(&ids) {
                log::warn!("{e:#}");
            }
        }
    }

    /// Reads (from a verified cache copy when `use_cache`), decrypts and decodes each index file in
    /// parallel, handing each to `f`, or the reason it could not be read. Returns the IDs of all index
    /// files listed.
    fn for_each_index_file(
        &self,
        use_cache: bool,
        f: impl Fn(IndexId, Result<IndexFile>) -> Result<()> + Sync,
    ) -> Result<std::collections::HashSet<IndexId>> {
        let names = self.backend.list(FileType::Index)?;
        names
            .par_iter()
            .filter_map(|(name, _)| {
                let id = match IndexId::from_hex(name) {
                    Ok(id) => id,
                    Err(e) => {
                        log::warn!("ignoring index/{name}: not an index file name ({e})");
                        return None;
                    }
                };
                let cache = self.cache.as_ref().filter(|_| use_cache);
                let file = self.read_index_file(id, cache);
                // A file listed but deleted before it was read (a concurrent repair) held nothing
                // this command needs; leave it out.
                if file.is_err() && matches!(self.backend.stat(FileType::Index, name), Ok(None)) {
                    return None;
                }
                Some(f(id, file).map(|()| id))
            })
            .collect()
    }

    /// One index file, verified: its bytes must hash to its name, open and decode. With `cache`, a
    /// cached copy is tried first and used only if it passes the same checks.
    pub fn read_index_file(&self, id: IndexId, cache: Option<&cache::Cache>) -> Result<IndexFile> {
        let name = id.to_hex();
        let open = |bytes: &[u8]| -> Result<IndexFile> {
            if storage_hash(bytes) != id.0 {
                bail!(Corrupt, "does not match its name");
            }
            let plain = envelope::open(Kind::Index, &self.keys.enc, bytes)?;
            Ok(IndexFile::decode(&plain)?)
        };
        if let Some(c) = cache {
            if let Some(bytes) = c.get_index(&id).ok().flatten() {
                match open(&bytes) {
                    Ok(f) => return Ok(f),
                    Err(e) => {
                        c.discard_damaged(&format!("index/{name}: {e:#}"));
                        let _ = c.remove_index(&id);
                    }
                }
            }
        }
        let bytes = self.read_verified(FileType::Index, &name)?;
        let plain = envelope::open(Kind::Index, &self.keys.enc, &bytes)
            .with_context(|| format!("index/{name} is damaged"))?;
        let file = IndexFile::decode(&plain).with_context(|| format!("index/{name} is damaged"))?;
        if let Some(c) = cache {
            if let Err(e) = c.put_index(&id, &bytes) {
                log::warn!("{e:#}");
            }
        }
        Ok(file)
    }

    /// Writes an index file; returns its ID. Refuses if this command's lock has lapsed.
    pub fn write_index(&self, file: &IndexFile) -> Result<IndexId> {
        self.confirm_lock()?;
        let bytes = envelope::seal(Kind::Index, &self.keys.enc, &file.encode(), true)?;
        let id = IndexId(storage_hash(&bytes));
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
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
