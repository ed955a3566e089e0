//! Moves blobs from one repository into another: the blobs are grouped by source pack and read in
//! segments of at most the source store's read span (`Backend::read_span`), from the first to the
//! last blob wanted, as restore reads. Each blob is opened and verified with the source's keys and
//! handed to the destination's [`BlobSaver`], which names it with the destination's ID key,
//! deduplicates, compresses, seals it with the destination's key and packs it. Segments are read
//! and sealed on all cores.

use crate::backend::FileType;
use crate::error::{bail, err, Context, Result};
use crate::format::blob_entry::{BlobEntry, Compression};
use crate::ids::{BlobId, PackId};
use crate::repository::saver::BlobSaver;
use crate::repository::{BlobLocation, Repository};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// One read: a run of a pack's bytes and the wanted blobs in it, by offset.
#[derive(Debug, PartialEq)]
pub(super) struct Segment {
    pub pack: PackId,
    pub start: u64,
    pub len: u64,
    pub blobs: Vec<BlobEntry>,
}

/// Cuts the wanted blobs into segments: per pack, by offset, a new segment whenever the next
/// blob would carry the segment past `max` bytes.
pub(super) fn segments(mut blobs: Vec<BlobLocation>, max: u64) -> Vec<Segment> {
    blobs.sort_by_key(|a| (a.pack, a.entry.offset));
    let mut out: Vec<Segment> = Vec::new();
    for b in blobs {
        let (offset, len) = (b.entry.offset as u64, b.entry.stored_len as u64);
        match out.last_mut() {
            Some(s) if s.pack == b.pack && offset + len - s.start <= max && offset >= s.start => {
                s.len = s.len.max(offset + len - s.start);
                s.blobs.push(b.entry);
            }
            _ => out.push(Segment {
                pack: b.pack,
                start: offset,
                len,
                blobs: vec![b.entry],
            }),
        }
    }
    out
}

/// What a transfer did.
#[derive(Debug, Default)]
pub(super) struct Moved {
    /// Source blob ID -> its ID in the destination (kept only when asked).
    pub ids: HashMap<BlobId, BlobId>,
    /// Blobs read from the source.
    pub read: u64,
}

/// Copies the blobs at `blobs` (source locations) from `src` into `saver`'s repository. When
/// `same_ids` (related repositories), a blob whose destination ID differs from its source ID is an
/// error; otherwise the new IDs are returned in [`Moved::ids`].
pub(super) fn transfer(
    src: &Repository,
    saver: &BlobSaver,
    blobs: Vec<BlobLocation>,
    same_ids: bool,
    progress: &super::CopyProgress,
) -> Result<Moved> {
    let ids = Mutex::new(HashMap::new());
    let before = progress.blobs.load(Ordering::Relaxed);
    segments(blobs, src.backend().read_span()).par_iter().try_for_each(|seg| -> Result<()> {
        let mut bytes = read_segment(src, seg)?;
        for e in &seg.blobs {
            let at = (e.offset as u64 - seg.start) as usize;
            let sealed = &mut bytes[at..at + e.stored_len as usize];
            let plain = src
                .open_blob_in_place(e, sealed)
                .with_context(|| format!("in pack {} of the source repository", seg.pack))?;
            // The source's choice stands: media was stored as is, and stays so.
            let (new, _) = saver.save(e.blob_type, &plain, e.compression == Compression::Zstd)?;
            progress.blobs.fetch_add(1, Ordering::Relaxed);
            progress.bytes.fetch_add(plain.len() as u64, Ordering::Relaxed);
            if same_ids {
                if new != e.id {
                    bail!(
                        Other,
                        "blob {} got another ID ({new}) in the destination, although the repositories share their ID key",
                        e.id
                    );
                }
            } else {
                crate::sync::unpoisoned(&ids).insert(e.id, new);
            }
        }
        Ok(())
    })?;
    Ok(Moved {
        ids: ids.into_inner().unwrap_or_else(|p| p.into_inner()),
        read: progress.blobs.load(Ordering::Relaxed) - before,
    })
}

fn read_segment(src: &Repository, seg: &Segment) -> Result<Vec<u8>> {
    let bytes = src
        .backend()
        .read_range(FileType::Pack, &seg.pack.to_hex(), seg.start, seg.len)
        .with_context(|| format!("reading pack {} of the source repository", seg.pack))?;
    if bytes.len() as u64 != seg.len {
        return Err(err!(
            Corrupt,
            "pack {} of the source repository is shorter than its index says ({} bytes at offset {} instead of {})",
            seg.pack,
            bytes.len(),
            seg.start,
            seg.len
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob_entry::BlobType;

    fn at(pack: u8, offset: u32, len: u32, id: u8) -> BlobLocation {
        BlobLocation {
            pack: PackId([pack; 32]),
            entry: BlobEntry {
                blob_type: BlobType::Data,
                compression: Compression::None,
                offset,
                stored_len: len,
                raw_len: len - 40,
                id: BlobId([id; 32]),
            },
        }
    }

    #[test]
    fn blobs_are_read_per_pack_in_bounded_segments() {
        let blobs = vec![
            at(2, 0, 100, 5),
            at(1, 500, 100, 2),
            at(1, 0, 100, 1),
            at(1, 900, 200, 3),
            at(1, 5000, 3000, 4),
        ];
        let segs = segments(blobs, 1100);
        let shape: Vec<(u8, u64, u64, Vec<u8>)> = segs
            .iter()
            .map(|s| {
                let ids = s.blobs.iter().map(|e| e.id.0[0]).collect();
                (s.pack.0[0], s.start, s.len, ids)
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (1, 0, 1100, vec![1, 2, 3]),
                // Larger than the limit: alone.
                (1, 5000, 3000, vec![4]),
                (2, 0, 100, vec![5]),
            ]
        );
        assert!(segments(Vec::new(), 10).is_empty());
    }
}
