//! Index files on storage: reading them (each verified against its name, through the cache when
//! allowed) into the master index, and writing new ones in batches.

use super::{cache, index, lock, MasterIndex, Repository};
use crate::backend::FileType;
use crate::error::err;
use crate::error::{Context, Result};
use crate::format::envelope::{self, Kind};
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{storage_hash, IndexId};
use rayon::prelude::*;

/// Default for the most blobs one new index file lists: bounds the memory a reader needs to decode
/// one file.
pub const INDEX_BLOBS_PER_FILE: usize = 100_000;

impl Repository {
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
    /// cached copy is tried first and used only if it passes the same checks. The one place that
    /// turns a stored index file into an [`IndexFile`].
    pub fn read_index_file(&self, id: IndexId, cache: Option<&cache::Cache>) -> Result<IndexFile> {
        let name = id.to_hex();
        if let Some(c) = cache {
            if let Some(bytes) = c.get_index(&id).ok().flatten() {
                let checked = if storage_hash(&bytes) == id.0 {
                    self.decode_index_file(&bytes)
                } else {
                    Err(err!(Corrupt, "does not match its name"))
                };
                match checked {
                    Ok(f) => return Ok(f),
                    Err(e) => {
                        c.discard_damaged(&format!("index/{name}: {e:#}"));
                        let _ = c.remove_index(&id);
                    }
                }
            }
        }
        let bytes = self.read_verified(FileType::Index, &name)?;
        let file = self
            .decode_index_file(&bytes)
            .with_context(|| format!("index/{name} is damaged"))?;
        if let Some(c) = cache {
            if let Err(e) = c.put_index(&id, &bytes) {
                log::warn!("{e:#}");
            }
        }
        Ok(file)
    }

    /// Opens and decodes the bytes of an index file whose name the caller has checked.
    fn decode_index_file(&self, bytes: &[u8]) -> Result<IndexFile> {
        let plain = envelope::open(Kind::Index, &self.keys().enc, bytes)?;
        Ok(IndexFile::decode(&plain)?)
    }

    /// Writes an index file; returns its ID. Refuses if this command's lock has lapsed.
    pub fn write_index(&self, file: &IndexFile) -> Result<IndexId> {
        self.confirm_lock()?;
        let bytes = envelope::seal(Kind::Index, &self.keys().enc, &file.encode(), true)?;
        let id = IndexId(storage_hash(&bytes));
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Writes `packs` as new index files of at most `per_file` blobs each (a pack with more blobs
    /// gets a file of its own; a `per_file` of 0 counts as 1), superseding nothing, in order. Returns
    /// their IDs; none for no packs. The one writer of index files that list packs.
    pub fn write_index_files(
        &self,
        packs: Vec<PackRecord>,
        per_file: usize,
    ) -> Result<Vec<IndexId>> {
        let per_file = per_file.max(1);
        let mut written = Vec::new();
        let mut file = IndexFile::default();
        let mut blobs = 0;
        for p in packs {
            if blobs > 0 && blobs + p.blobs.len() > per_file {
                written.push(self.write_index(&file)?);
                file.packs.clear();
                blobs = 0;
            }
            blobs += p.blobs.len();
            file.packs.push(p);
        }
        if !file.packs.is_empty() {
            written.push(self.write_index(&file)?);
        }
        Ok(written)
    }
}
