//! The repository: keys, config, blobs in packs, the index, trees and snapshots, over a backend.

pub mod cache;
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
use crate::error::RepoError;
use crate::format::blob_entry::{blob_aad, BlobEntry, BlobType, Compression};
use crate::format::config::{ChunkerSecret, Config};
use crate::format::envelope::{self, Kind};
use crate::format::index::IndexFile;
use crate::format::keyfile::{KeyFile, OpenError};
use crate::ids::{storage_hash, BlobId, IndexId, KeyId, RepoId};
use anyhow::{anyhow, bail, Context, Result};
use rand::RngCore;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

pub use index::{BlobLocation, MasterIndex};

/// Options for opening a repository.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub cache_dir: Option<PathBuf>,
    pub no_cache: bool,
    /// How long to keep retrying when the repository is locked by another process.
    pub retry_lock: std::time::Duration,
}

pub struct Repository {
    backend: Arc<dyn Backend>,
    keys: MasterKeys,
    config: Config,
    key_id: KeyId,
    index: MasterIndex,
    cache: Option<cache::Cache>,
    retry_lock: std::time::Duration,
    text: Chunker,
    media: Chunker,
    tree: Chunker,
}

/// Who and where, recorded in key files and snapshots.
pub fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

pub fn username() -> String {
    if let Ok(u) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        return u;
    }
    // No environment: look our uid up in /etc/passwd.
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    uid.and_then(|uid| {
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
    })
    .unwrap_or_else(|| "unknown".into())
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
            bail!("a repository already exists at {}", backend.location());
        }
        let mut config = Config::new(RepoId([0; 32]), ChunkerSecret::random());
        if let Some(size) = pack_size {
            config.pack_size = size;
            config
                .check()
                .context("--pack-size must be between 1 MiB and 1 GiB")?;
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
        let cbytes = envelope::seal(Kind::Config, &keys.enc, &config.encode(), false);
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
            None => return Err(RepoError::NotFound(loc).into()),
        };
        let key_files = backend.list(FileType::Key)?;
        if key_files.is_empty() {
            bail!("repository at {loc} has no key files");
        }
        let mut opened = None;
        for (name, _) in &key_files {
            let bytes = backend.read(FileType::Key, name)?;
            let kf = match KeyFile::decode(&bytes) {
                Ok(kf) => kf,
                Err(e) => {
                    log_warning(&format!("skipping unreadable key file keys/{name}: {e}"));
                    continue;
                }
            };
            match kf.open(password) {
                Ok(keys) => {
                    opened = Some((keys, KeyId(storage_hash(&bytes))));
                    break;
                }
                Err(OpenError::WrongPassword) => continue,
                Err(OpenError::Kdf(e)) => log_warning(&format!("key file keys/{name}: {e}")),
            }
        }
        let (keys, key_id) = opened.ok_or_else(|| RepoError::WrongPassword(loc.clone()))?;
        let plain = envelope::open(Kind::Config, &keys.enc, &cbytes)
            .with_context(|| format!("reading {loc}/config"))?;
        let config = Config::decode(&plain).with_context(|| format!("decoding {loc}/config"))?;
        let mut repo = Self::assemble(backend, keys, config, key_id);
        repo.retry_lock = opts.retry_lock;
        if !opts.no_cache {
            match cache::Cache::open(opts.cache_dir.as_deref(), &repo.config.id) {
                Ok(c) => repo.cache = Some(c),
                Err(e) => log_warning(&format!("running without the local cache: {e:#}")),
            }
        }
        Ok(repo)
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
    pub fn keys(&self) -> &MasterKeys {
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
                "{}/{}/{name} is corrupt: its content does not match its name",
                self.backend.location(),
                t.dir()
            );
        }
        Ok(bytes)
    }

    /// Loads every index file (in parallel, from the cache where it has them) into the master index.
    pub fn load_index(&mut self) -> Result<()> {
        // Each thread decodes one file at a time and adds it to the loader, so the decoded files are
        // never all in memory together.
        let loader = std::sync::Mutex::new(index::IndexLoader::default());
        let ids = self.for_each_index_file(|id, file| {
            saver::lock(&loader).add(id, &file);
            Ok(())
        })?;
        self.retain_cached_index(ids);
        self.index = loader
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .finish();
        Ok(())
    }

    /// Reads and decodes every index file, superseded ones included.
    pub fn read_index_files(&self) -> Result<Vec<(IndexId, IndexFile)>> {
        let files = std::sync::Mutex::new(Vec::new());
        let ids = self.for_each_index_file(|id, file| {
            saver::lock(&files).push((id, file));
            Ok(())
        })?;
        self.retain_cached_index(ids);
        let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
        files.sort_by_key(|(id, _)| *id);
        Ok(files)
    }

    /// Drops cached index files that are no longer in the repository.
    fn retain_cached_index(&self, ids: std::collections::HashSet<IndexId>) {
        if let Some(c) = &self.cache {
            if let Err(e) = c.retain_index(&ids) {
                log_warning(&format!("{e:#}"));
            }
        }
    }

    /// Reads, decrypts (or takes from the cache) and decodes each index file in parallel, handing each
    /// to `f`. Returns the IDs of all index files.
    fn for_each_index_file(
        &self,
        f: impl Fn(IndexId, IndexFile) -> Result<()> + Sync,
    ) -> Result<std::collections::HashSet<IndexId>> {
        let names = self.backend.list(FileType::Index)?;
        names
            .par_iter()
            .map(|(name, _)| -> Result<IndexId> {
                let id = IndexId::from_hex(name).map_err(|e| anyhow!("index/{name}: {e}"))?;
                let cached = self
                    .cache
                    .as_ref()
                    .and_then(|c| c.get_index(&id).ok().flatten());
                let plain = match cached {
                    Some(p) => p,
                    None => {
                        let bytes = self.read_verified(FileType::Index, name)?;
                        let plain = envelope::open(Kind::Index, &self.keys.enc, &bytes)
                            .with_context(|| format!("reading index/{name}"))?;
                        if let Some(c) = &self.cache {
                            if let Err(e) = c.put_index(&id, &plain) {
                                log_warning(&format!("{e:#}"));
                            }
                        }
                        plain
                    }
                };
                let file =
                    IndexFile::decode(&plain).with_context(|| format!("decoding index/{name}"))?;
                drop(plain);
                f(id, file)?;
                Ok(id)
            })
            .collect::<Result<_>>()
    }

    /// Writes an index file; returns its ID.
    pub fn write_index(&self, file: &IndexFile) -> Result<IndexId> {
        let bytes = envelope::seal(Kind::Index, &self.keys.enc, &file.encode(), true);
        let id = IndexId(storage_hash(&bytes));
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Seals one blob: compresses when asked and it helps, then encrypts.
    pub fn seal_blob(
        &self,
        t: BlobType,
        plaintext: &[u8],
        try_compress: bool,
    ) -> (Compression, Vec<u8>) {
        let compressed = if try_compress {
            let c = compress::compress(plaintext, self.config.compression_level);
            (c.len() < plaintext.len()).then_some(c)
        } else {
            None
        };
        match compressed {
            Some(c) => (
                Compression::Zstd,
                crypto::seal(&self.keys.enc, &blob_aad(t, Compression::Zstd), &c),
            ),
            None => (
                Compression::None,
                crypto::seal(&self.keys.enc, &blob_aad(t, Compression::None), plaintext),
            ),
        }
    }

    /// Decrypts, decompresses and verifies a sealed blob against its entry.
    pub fn open_blob(&self, entry: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>> {
        let body = crypto::open(
            &self.keys.enc,
            &blob_aad(entry.blob_type, entry.compression),
            sealed,
        )
        .map_err(|e| anyhow!("blob {} cannot be decrypted: {e}", entry.id))?;
        let plain = match entry.compression {
            Compression::None => body,
            Compression::Zstd => self.decompress_blob(entry, &body)?,
        };
        self.verify_blob(entry, &plain)?;
        Ok(plain)
    }

    /// [`Self::open_blob`] decrypting in place: `sealed` is overwritten, and an uncompressed
    /// blob's plaintext is returned as a part of it, without a copy.
    pub fn open_blob_in_place<'a>(
        &self,
        entry: &BlobEntry,
        sealed: &'a mut [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>> {
        let body = crypto::open_in_place(
            &self.keys.enc,
            &blob_aad(entry.blob_type, entry.compression),
            sealed,
        )
        .map_err(|e| anyhow!("blob {} cannot be decrypted: {e}", entry.id))?;
        let plain = match entry.compression {
            Compression::None => std::borrow::Cow::Borrowed(&*body),
            Compression::Zstd => std::borrow::Cow::Owned(self.decompress_blob(entry, body)?),
        };
        self.verify_blob(entry, &plain)?;
        Ok(plain)
    }

    fn decompress_blob(&self, entry: &BlobEntry, body: &[u8]) -> Result<Vec<u8>> {
        compress::decompress_exact(body, entry.raw_len as usize)
            .map_err(|e| anyhow!("blob {}: {e}", entry.id))
    }

    fn verify_blob(&self, entry: &BlobEntry, plain: &[u8]) -> Result<()> {
        if plain.len() != entry.raw_len as usize || self.keys.blob_id(plain) != entry.id {
            bail!(
                "blob {} is corrupt: its content does not match its ID",
                entry.id
            );
        }
        Ok(())
    }

    /// Reads one blob by ID through the index (tree blobs through the cache).
    pub fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>> {
        let loc = self
            .index
            .get(id)
            .ok_or_else(|| anyhow!("blob {id} is not in the index"))?;
        let is_tree = loc.entry.blob_type == BlobType::Tree;
        if is_tree {
            if let Some(sealed) = self
                .cache
                .as_ref()
                .and_then(|c| c.get_tree(id).ok().flatten())
            {
                if let Ok(plain) = self.open_blob(&loc.entry, &sealed) {
                    return Ok(plain);
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
            bail!("pack {pack} is only {size} bytes long");
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

    /// Puts sealed tree blobs into the cache, if there is one. Cache failures only warn.
    pub fn cache_trees(&self, items: &[(BlobId, Vec<u8>)]) {
        if let Some(c) = &self.cache {
            if let Err(e) = c.put_trees(items) {
                log_warning(&format!("{e:#}"));
            }
        }
    }
}

/// Warnings from the library go to stderr with a prefix; the CLI may silence them with --quiet.
pub fn log_warning(msg: &str) {
    if std::env::var_os("BACKSTOCK_QUIET").is_none() {
        eprintln!("warning: {msg}");
    }
}
