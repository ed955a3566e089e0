//! How big snapshots are: as restored, and as stored after deduplication and compression.
//!
//! Every distinct directory (identified by its tree blob ID list) is read once, however many
//! snapshots or places hold it: its counts are remembered and added again wherever it appears.

use super::tree_reader::TreeReader;
use crate::error::err;
use crate::error::{Context, Result};
use crate::format::blob_entry::BlobType;
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// What `stats` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Files, directories and bytes as a restore would write them, summed over the snapshots.
    #[default]
    RestoreSize,
    /// Unique blobs the snapshots reference and their raw and stored sizes.
    RawData,
    /// Files counted once per distinct content (restic's `files-by-contents`).
    FilesByContents,
    /// Files counted once per distinct content, with the blobs each is made of (restic's
    /// `blobs-per-file`).
    BlobsPerFile,
}

/// Files by distinct content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByContents {
    /// Distinct file contents.
    pub files: u64,
    /// Blobs of those files, each file's counted (a blob two contents share counts twice).
    pub blobs: u64,
    /// Bytes of those files.
    pub bytes: u64,
}

/// What a restore writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreSize {
    /// Regular files.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Symlinks.
    pub others: u64,
    /// Sum of file sizes.
    pub bytes: u64,
}

impl std::ops::AddAssign for RestoreSize {
    fn add_assign(&mut self, o: Self) {
        self.files += o.files;
        self.dirs += o.dirs;
        self.others += o.others;
        self.bytes += o.bytes;
    }
}

/// The unique blobs referenced, from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawData {
    /// Unique data blobs.
    pub data_blobs: u64,
    /// Unique tree blobs.
    pub tree_blobs: u64,
    /// Plaintext bytes of the data blobs.
    pub data_raw_size: u64,
    /// Plaintext bytes of all blobs.
    pub raw_size: u64,
    /// Bytes in pack files (compressed and sealed) of all blobs.
    pub stored_size: u64,
}

/// The figures `stats` reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Snapshots counted.
    pub snapshots_processed: u64,
    /// What restoring each of them would write, summed.
    pub restore: RestoreSize,
    /// Present in `RawData` mode.
    pub raw: Option<RawData>,
    /// Present in `FilesByContents` and `BlobsPerFile` modes.
    pub by_contents: Option<ByContents>,
}

impl Stats {
    /// Bytes as restored per byte of unique file data; `None` without raw data or without data.
    pub fn dedup_ratio(&self) -> Option<f64> {
        let raw = self.raw?;
        (raw.data_raw_size > 0).then(|| self.restore.bytes as f64 / raw.data_raw_size as f64)
    }

    /// Plaintext bytes per stored byte over the unique blobs.
    pub fn compression_ratio(&self) -> Option<f64> {
        let raw = self.raw?;
        (raw.stored_size > 0).then(|| raw.raw_size as f64 / raw.stored_size as f64)
    }
}

struct Walker<'r> {
    reader: TreeReader<'r>,
    memo: HashMap<Vec<BlobId>, RestoreSize>,
    /// Unique blobs seen, collected in `RawData` mode.
    blobs: Option<HashSet<BlobId>>,
    /// Distinct file contents (a hash of the blob ID list) with their blob counts.
    contents: Option<HashSet<[u8; 32]>>,
    by_contents: ByContents,
    dirs_read: &'r AtomicU64,
}

/// A directory comes to the counts of its entries plus those of the directories below it.
impl Visitor for Walker<'_> {
    type Summary = RestoreSize;

    fn known(&mut self, dir: &Dir) -> Option<RestoreSize> {
        self.memo.get(dir.ids).copied()
    }

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        let nodes = self.reader.load(dir.ids)?;
        self.dirs_read.fetch_add(1, Ordering::Relaxed);
        if let Some(b) = &mut self.blobs {
            b.extend(dir.ids.iter().copied());
        }
        Ok(nodes)
    }

    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<RestoreSize>>,
    ) -> Result<RestoreSize> {
        let mut c = RestoreSize::default();
        for (n, below) in nodes.into_iter().zip(below) {
            match n.kind {
                NodeKind::File => {
                    c.files += 1;
                    c.bytes += n.size;
                    if let Some(b) = &mut self.blobs {
                        b.extend(n.content.iter().copied());
                    }
                    if let Some(seen) = &mut self.contents {
                        let mut h = blake3::Hasher::new();
                        for id in &n.content {
                            h.update(&id.0);
                        }
                        h.update(&n.size.to_le_bytes());
                        if seen.insert(*h.finalize().as_bytes()) {
                            self.by_contents.files += 1;
                            self.by_contents.blobs += n.content.len() as u64;
                            self.by_contents.bytes += n.size;
                        }
                    }
                }
                NodeKind::Dir => c.dirs += 1,
                _ => c.others += 1,
            }
            c += below.unwrap_or_default();
        }
        self.memo.insert(dir.ids.to_vec(), c);
        Ok(c)
    }
}

/// Statistics over the snapshots with these root trees. `dirs_read` counts directories read, for a
/// progress display.
pub fn stats(
    repo: &Repository,
    roots: &[BlobId],
    mode: Mode,
    dirs_read: &AtomicU64,
) -> Result<Stats> {
    let mut w = Walker {
        reader: TreeReader::new(repo),
        memo: HashMap::new(),
        blobs: (mode == Mode::RawData).then(HashSet::new),
        contents: matches!(mode, Mode::FilesByContents | Mode::BlobsPerFile).then(HashSet::new),
        by_contents: ByContents::default(),
        dirs_read,
    };
    let mut out = Stats::default();
    for root in roots {
        out.restore += walk(&mut w, "/", &[*root])
            .with_context(|| format!("walking snapshot tree {}", root.short()))?;
        out.snapshots_processed += 1;
    }
    if let Some(blobs) = &w.blobs {
        let mut raw = RawData::default();
        for id in blobs {
            let loc = repo.index().get(id).ok_or_else(|| {
                err!(
                    Corrupt,
                    "blob {id} is referenced but not in the index (run `backstock check`)"
                )
            })?;
            let e = loc.entry;
            match e.blob_type {
                BlobType::Data => {
                    raw.data_blobs += 1;
                    raw.data_raw_size += u64::from(e.raw_len);
                }
                BlobType::Tree => raw.tree_blobs += 1,
            }
            raw.raw_size += u64::from(e.raw_len);
            raw.stored_size += u64::from(e.stored_len);
        }
        out.raw = Some(raw);
    }
    if w.contents.is_some() {
        out.by_contents = Some(w.by_contents);
    }
    Ok(out)
}

/// Counts tree blobs decoded by a `stats` run, for tests.
#[cfg(test)]
fn stats_counting_loads(repo: &Repository, roots: &[BlobId], mode: Mode) -> (Stats, u64) {
    let n = AtomicU64::new(0);
    let s = stats(repo, roots, mode, &n).unwrap();
    (s, n.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn restore_size_and_raw_data() {
        let mut t = repo();
        let (r1, r2, r3) = t.save(|s| {
            let a = data(s, &[b'a'; 1000]);
            let b = data(s, &[b'b'; 500]);
            let sub = tree(
                s,
                vec![file("x", vec![a], 1000), file("y", vec![a, b], 1500)],
                false,
            );
            let r1 = root(
                s,
                vec![
                    dir("d1", sub.clone()),
                    dir("d2", sub.clone()),
                    symlink("l", "x"),
                ],
            );
            // Same content in another root; and one with an extra empty file.
            let r2 = root(
                s,
                vec![
                    dir("d1", sub.clone()),
                    dir("d2", sub.clone()),
                    symlink("l", "y"),
                ],
            );
            let r3 = root(s, vec![dir("d1", sub), file("e", vec![], 0)]);
            (r1, r2, r3)
        });
        let (st, dirs_read) = stats_counting_loads(&t.repo, &[r1], Mode::RestoreSize);
        assert_eq!(st.snapshots_processed, 1);
        assert_eq!(
            st.restore,
            RestoreSize {
                files: 4,
                dirs: 2,
                others: 1,
                bytes: 5000
            }
        );
        assert!(st.raw.is_none() && st.dedup_ratio().is_none());
        // The shared subdirectory is read once.
        assert_eq!(dirs_read, 2);

        let (st, dirs_read) = stats_counting_loads(&t.repo, &[r1, r2, r3], Mode::RawData);
        assert_eq!(st.snapshots_processed, 3);
        assert_eq!(st.restore.files, 4 + 4 + 3);
        assert_eq!(st.restore.bytes, 5000 + 5000 + 2500);
        assert_eq!(dirs_read, 4);
        let raw = st.raw.unwrap();
        assert_eq!(raw.data_blobs, 2);
        assert_eq!(raw.tree_blobs, 4);
        assert_eq!(raw.data_raw_size, 1500);
        assert!(raw.raw_size > raw.data_raw_size);
        assert!(raw.stored_size > 0);
        let dedup = st.dedup_ratio().unwrap();
        assert!((dedup - 12500.0 / 1500.0).abs() < 1e-9);
        // Repeated bytes compress well.
        assert!(st.compression_ratio().unwrap() > 1.0);
    }

    #[test]
    fn missing_blobs_are_errors() {
        let mut t = repo();
        let r = t.save(|s| root(s, vec![file("x", vec![fake(9)], 3)]));
        assert_eq!(
            stats_counting_loads(&t.repo, &[r], Mode::RestoreSize)
                .0
                .restore
                .bytes,
            3
        );
        let err = stats(&t.repo, &[r], Mode::RawData, &AtomicU64::new(0)).unwrap_err();
        assert!(format!("{err:#}").contains("not in the index"), "{err:#}");
        let err = stats(&t.repo, &[fake(1)], Mode::RestoreSize, &AtomicU64::new(0)).unwrap_err();
        assert!(format!("{err:#}").contains("not in the index"), "{err:#}");
    }
}
