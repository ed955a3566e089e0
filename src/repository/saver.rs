//! Saves blobs: dedup against the index and this session, seal, append to an open pack, and write
//! full packs. Callable from many threads; at most one open pack per blob type plus one pack per
//! writing thread are in memory at once.

use super::pack_writer::PackWriter;
use super::{Repository, INDEX_BLOBS_PER_FILE};
use crate::error::Result;
use crate::format::blob_entry::{BlobEntry, BlobType, SEAL_OVERHEAD};
use crate::format::index::PackRecord;
use crate::format::pack;
use crate::ids::{storage_hash, BlobId, IndexId, PackId};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct OpenPack {
    buf: Vec<u8>,
    entries: Vec<BlobEntry>,
}

/// What a saver added to the repository, updated as it goes.
#[derive(Debug, Default)]
pub struct SaverStats {
    /// New blobs stored (blobs the index or this session already had are not counted).
    pub blobs_added: AtomicU64,
    /// Plaintext bytes of the new blobs.
    pub raw_bytes_added: AtomicU64,
    /// Bytes the new blobs take in packs (compressed and sealed).
    pub stored_bytes_added: AtomicU64,
    /// Pack files written.
    pub packs_written: AtomicU64,
}

/// Stores blobs into packs for one session: deduplicates against the index and itself, fills one open pack per blob type, writes full packs on a background thread, and at the end writes the index file of what it added.
pub struct BlobSaver<'r> {
    repo: &'r Repository,
    open: [Mutex<OpenPack>; 2],
    seen: Mutex<HashSet<BlobId>>,
    /// Sealed tree blobs written this session, for the local cache.
    new_trees: Mutex<Vec<(BlobId, Vec<u8>)>>,
    writer: PackWriter,
    /// Count and seal new blobs, store nothing.
    dry_run: bool,
    /// What it added so far.
    pub stats: SaverStats,
}

impl<'r> BlobSaver<'r> {
    /// A saver into `repo`, which must hold a lock that allows adding (taken by the caller).
    pub fn new(repo: &'r Repository) -> Result<Self> {
        Ok(BlobSaver {
            repo,
            open: [Mutex::default(), Mutex::default()],
            seen: Mutex::default(),
            new_trees: Mutex::default(),
            writer: PackWriter::new(repo.backend_arc())?,
            dry_run: false,
            stats: SaverStats::default(),
        })
    }

    /// A saver that deduplicates, compresses and seals as [`Self::new`]'s does, and counts what
    /// it would add in `stats`, but writes no pack and no index: a backup's `--dry-run`.
    pub fn dry_run(repo: &'r Repository) -> Result<Self> {
        Ok(BlobSaver {
            dry_run: true,
            ..Self::new(repo)?
        })
    }

    /// The repository it saves into.
    pub fn repo(&self) -> &'r Repository {
        self.repo
    }

    /// Stores `data` as a blob unless the repository or this session already has it. Returns the ID
    /// and whether it was added.
    pub fn save(&self, t: BlobType, data: &[u8], try_compress: bool) -> Result<(BlobId, bool)> {
        let id = self.repo.keys().blob_id(data);
        if self.repo.index().contains(&id) || !crate::sync::unpoisoned(&self.seen).insert(id) {
            return Ok((id, false));
        }
        let (compression, sealed) = self.repo.seal_blob(t, data, try_compress)?;
        self.stats.blobs_added.fetch_add(1, Ordering::Relaxed);
        self.stats
            .raw_bytes_added
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.stats
            .stored_bytes_added
            .fetch_add(sealed.len() as u64, Ordering::Relaxed);
        if !self.dry_run {
            self.add_sealed(t, id, compression, data.len() as u32, sealed)?;
        }
        Ok((id, true))
    }

    /// Appends an already sealed blob to the open pack of its type, writing the pack when full.
    /// No deduplication: prune uses this to copy blobs into new packs.
    pub fn add_sealed(
        &self,
        t: BlobType,
        id: BlobId,
        compression: crate::format::blob_entry::Compression,
        raw_len: u32,
        sealed: Vec<u8>,
    ) -> Result<()> {
        let target = self.repo.config().pack_size as usize;
        let mut open = crate::sync::unpoisoned(&self.open[t as usize]);
        // A blob that would carry the open pack past the target goes into the next pack.
        let before = if !open.buf.is_empty() && open.buf.len() + sealed.len() > target {
            Some(std::mem::take(&mut *open))
        } else {
            None
        };
        let full = {
            if open.buf.capacity() == 0 {
                // Only data packs fill a whole buffer; a tree pack stays small in most backups.
                if let Some(b) = (t == BlobType::Data)
                    .then(|| self.writer.spare_buffer())
                    .flatten()
                {
                    open.buf = b;
                }
                // Room for the header too: entries of 46 bytes, at most one per 1/16 of the blobs' bytes
                // for all but packs of tiny blobs.
                open.buf.reserve(target.max(sealed.len()) + target / 16);
            }
            let entry = BlobEntry {
                blob_type: t,
                compression,
                offset: open.buf.len() as u32,
                stored_len: sealed.len() as u32,
                raw_len,
                id,
            };
            debug_assert!(entry.stored_len >= SEAL_OVERHEAD);
            open.buf.extend_from_slice(&sealed);
            open.entries.push(entry);
            if t == BlobType::Tree && self.repo.cache().is_some() {
                crate::sync::unpoisoned(&self.new_trees).push((id, sealed));
            }
            if open.buf.len() >= target || open.entries.len() >= pack::MAX_BLOBS {
                Some(std::mem::take(&mut *open))
            } else {
                None
            }
        };
        drop(open);
        for p in [before, full].into_iter().flatten() {
            self.write_pack(p)?;
        }
        Ok(())
    }

    /// Seals the pack's header and hands the pack to the writer thread.
    fn write_pack(&self, p: OpenPack) -> Result<()> {
        if p.entries.is_empty() {
            return Ok(());
        }
        // A command whose lock lapsed stops adding packs that a prune elsewhere might not see.
        self.repo.check_lock()?;
        let config = self.repo.config();
        let bytes = pack::finish(
            &self.repo.keys().enc,
            p.buf,
            &p.entries,
            config.pack_header_version(),
        )?;
        let id = PackId(storage_hash(&bytes));
        self.stats.packs_written.fetch_add(1, Ordering::Relaxed);
        self.writer.write(id, bytes, p.entries)
    }

    /// Writes the open packs and returns the records of every pack written so far (emptying the list).
    pub fn flush(&self) -> Result<Vec<PackRecord>> {
        for m in &self.open {
            let p = std::mem::take(&mut *crate::sync::unpoisoned(m));
            self.write_pack(p)?;
        }
        let trees = std::mem::take(&mut *crate::sync::unpoisoned(&self.new_trees));
        if !trees.is_empty() {
            self.repo.cache_trees(&trees);
        }
        self.writer.flush()
    }

    /// Flushes and writes index files (of at most [`INDEX_BLOBS_PER_FILE`] blobs each) for the
    /// packs written. Returns their IDs; none when nothing was written.
    pub fn finish(self) -> Result<Vec<IndexId>> {
        let packs = self.flush()?;
        self.repo.write_index_files(packs, INDEX_BLOBS_PER_FILE)
    }

    /// [`Self::finish`], also returning what the saver added (packs written included).
    pub fn finish_with_stats(self) -> Result<(Vec<IndexId>, SaverStats)> {
        let packs = self.flush()?;
        let ids = self.repo.write_index_files(packs, INDEX_BLOBS_PER_FILE)?;
        Ok((ids, self.stats))
    }
}
