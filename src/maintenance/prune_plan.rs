//! What prune will do, decided from the index files, the blobs the snapshots use and the stored
//! packs, before anything is changed. A dry run reports this plan; the real run carries it out.

use crate::error::bail;
use crate::error::Result;
use crate::format::blob_entry::{BlobEntry, BlobType};
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::{BlobId, IndexId, PackId};
use std::collections::{HashMap, HashSet};

/// One indexed pack and which of its blobs are used.
pub struct PackUse {
    /// The pack as the index lists it (ID, size, blobs).
    pub record: PackRecord,
    /// Used blobs this pack is the chosen copy of.
    pub used: Vec<BlobEntry>,
    /// Stored bytes of this pack's blobs that are not the chosen copy of a used blob.
    pub unused_bytes: u64,
    /// Stored with the indexed size; a pack that is not cannot provide any blob.
    pub present: bool,
}

/// What prune will do, decided from the index, the stored packs and the used blobs alone.
pub struct Plan {
    /// Every indexed pack and its use.
    pub packs: Vec<PackUse>,
    /// Indices into `packs`: packs with no used blob (their index entries go, then the files).
    pub delete: Vec<usize>,
    /// Indices into `packs`: partly used packs whose used blobs are copied into new packs.
    pub repack: Vec<usize>,
    /// Stored packs that no live index file lists, with their sizes.
    pub unindexed: Vec<(String, u64)>,
    /// Indexed packs that are missing from the store or have another size than indexed.
    pub missing: usize,
    /// Every index file read, superseded ones included: what a new index supersedes.
    pub old_ids: Vec<IndexId>,
    /// No superseded index file is left and no pack is listed by two live files (as after an
    /// interrupted commit); otherwise prune rewrites the index even when it deletes nothing.
    pub tidy: bool,
    /// Index files read that another file read supersedes (left by an interrupted prune, or
    /// kept under retention).
    pub superseded: Vec<IndexId>,
    /// Some pack is listed by two live index files.
    pub duplicated: bool,
    /// What each index file read supersedes.
    pub supersedes: HashMap<IndexId, Vec<IndexId>>,
    /// Blobs the snapshots use.
    pub blobs_used: usize,
    /// Indexed blob entries that are not the chosen copy of a used blob.
    pub blobs_unused: usize,
    /// Stored bytes of unused blobs the plan leaves in kept packs.
    pub unused_bytes_after: u64,
}

/// The limits of [`Plan::new`].
pub struct Limits {
    /// Unused space allowed to remain, as a percentage of the used bytes.
    pub max_unused_percent: f64,
    /// Most bytes of packs to repack (None: no limit).
    pub max_repack: Option<u64>,
}

impl Plan {
    /// Decides. Fails when a used blob is in no stored pack of the right size: then the used set or
    /// the index is incomplete, and deleting anything could lose data.
    pub fn new(
        files: &[(IndexId, IndexFile)],
        used: &HashSet<BlobId>,
        stored: &HashMap<String, u64>,
        limits: &Limits,
    ) -> Result<Plan> {
        let superseded: HashSet<IndexId> = files
            .iter()
            .flat_map(|(_, f)| f.supersedes.iter().copied())
            .collect();
        let superseded_read: Vec<IndexId> = files
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| superseded.contains(id))
            .collect();
        let mut duplicated = false;
        // Each used blob counts once, in the first stored pack that holds it; further copies and
        // copies in packs that are missing or damaged are unused.
        let mut claimed: HashSet<BlobId> = HashSet::new();
        let mut packs: Vec<PackUse> = Vec::new();
        let mut indexed: HashSet<PackId> = HashSet::new();
        let (mut blobs_used, mut blobs_unused, mut missing) = (0, 0, 0);
        for (id, f) in files {
            if superseded.contains(id) {
                continue;
            }
            for p in &f.packs {
                if !indexed.insert(p.id) {
                    duplicated = true;
                    continue;
                }
                let present = stored.get(&p.id.to_hex()) == Some(&(p.size as u64));
                missing += usize::from(!present);
                let mut used_entries = Vec::new();
                let mut unused_bytes = 0u64;
                for b in &p.blobs {
                    if present && used.contains(&b.id) && claimed.insert(b.id) {
                        used_entries.push(*b);
                    } else {
                        unused_bytes += b.stored_len as u64;
                        blobs_unused += 1;
                    }
                }
                blobs_used += used_entries.len();
                packs.push(PackUse {
                    record: p.clone(),
                    used: used_entries,
                    unused_bytes,
                    present,
                });
            }
        }
        let lost: Vec<&BlobId> = used.iter().filter(|b| !claimed.contains(*b)).collect();
        if let Some(first) = lost.first() {
            bail!(
                Corrupt,
                "{} blobs used by snapshots are in no stored pack (first: {first}); nothing was \
                 deleted. Run `backstock check`: `backstock repair index` indexes packs the index \
                 lacks, and `backstock repair snapshots` rewrites snapshots to do without data that \
                 is gone",
                lost.len()
            );
        }
        let mut unindexed: Vec<(String, u64)> = stored
            .iter()
            .filter(|(name, _)| {
                PackId::from_hex(name)
                    .map(|id| !indexed.contains(&id))
                    .unwrap_or(true)
            })
            .map(|(n, s)| (n.clone(), *s))
            .collect();
        unindexed.sort();

        // Delete packs with nothing used; repack the emptiest partly used packs until the unused
        // bytes left are within the limit.
        let (repack, remaining_unused) = choose_repack(&packs, limits, &HashSet::new());
        let delete: Vec<usize> = (0..packs.len())
            .filter(|&i| packs[i].used.is_empty())
            .collect();
        Ok(Plan {
            packs,
            delete,
            repack,
            unindexed,
            missing,
            old_ids: files.iter().map(|(id, _)| *id).collect(),
            tidy: superseded_read.is_empty() && !duplicated,
            superseded: superseded_read,
            duplicated,
            supersedes: files
                .iter()
                .map(|(id, f)| (*id, f.supersedes.clone()))
                .collect(),
            blobs_used,
            blobs_unused,
            unused_bytes_after: remaining_unused,
        })
    }

    /// Keeps the packs of `no_delete` (wholly unused packs that must stay for now) and of
    /// `no_repack` (partly used packs that must not be read or rewritten, such as packs in an
    /// archive storage class) as they are, and chooses the packs to repack again without them.
    pub fn hold(
        &mut self,
        no_delete: &HashSet<usize>,
        no_repack: &HashSet<usize>,
        limits: &Limits,
    ) {
        self.delete.retain(|i| !no_delete.contains(i));
        let (repack, _) = choose_repack(&self.packs, limits, no_repack);
        self.repack = repack;
        let gone: HashSet<usize> = self.delete.iter().chain(&self.repack).copied().collect();
        self.unused_bytes_after = (0..self.packs.len())
            .filter(|i| !gone.contains(i))
            .map(|i| self.packs[i].unused_bytes)
            .sum();
    }

    /// The superseded index files, other than those in `keep`, that can be deleted without a
    /// new index, in an order in which deleting them never brings a superseded file back into
    /// force: after each delete, every superseded file left is still superseded by a file left.
    pub fn removable_superseded(&self, keep: &HashSet<IndexId>) -> Vec<IndexId> {
        let mut left: HashSet<IndexId> = self.supersedes.keys().copied().collect();
        let superseded: HashSet<IndexId> = self.superseded.iter().copied().collect();
        let mut candidates: Vec<IndexId> = self
            .superseded
            .iter()
            .filter(|id| !keep.contains(id))
            .copied()
            .collect();
        candidates.sort();
        let mut order = Vec::new();
        loop {
            let before = order.len();
            candidates.retain(|y| {
                left.remove(y);
                let still = superseded.iter().filter(|x| left.contains(x)).all(|x| {
                    left.iter()
                        .any(|r| self.supersedes.get(r).is_some_and(|s| s.contains(x)))
                });
                if still {
                    order.push(*y);
                    false
                } else {
                    left.insert(*y);
                    true
                }
            });
            if order.len() == before {
                return order;
            }
        }
    }

    /// Whether the first phase runs: it commits an index without the wholly unused packs, and it
    /// also tidies an index that needs it when there is nothing to repack.
    pub fn drops_unused(&self) -> bool {
        !self.delete.is_empty() || (self.repack.is_empty() && !self.tidy)
    }

    /// Whether prune changes the index at all.
    pub fn commits(&self) -> bool {
        self.drops_unused() || !self.repack.is_empty()
    }

    /// The records of the packs that are in neither of the given sets.
    pub fn records_without(&self, a: &[usize], b: &[usize]) -> Vec<PackRecord> {
        let skip: HashSet<usize> = a.iter().chain(b).copied().collect();
        self.packs
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, p)| p.record.clone())
            .collect()
    }

    /// The blobs repacking copies, in the order it copies them.
    pub fn repacked_blobs(&self) -> impl Iterator<Item = &BlobEntry> {
        self.repack.iter().flat_map(|&i| self.packs[i].used.iter())
    }

    /// How many packs repacking writes for a target pack size: the rule of
    /// `BlobSaver::add_sealed`, per blob type (a blob that would carry the open pack past the target
    /// starts the next pack; a pack that reaches the target is closed), over the blobs in copy order.
    pub fn new_pack_count(&self, target: u64) -> u64 {
        let mut open = [0u64; 2];
        let mut count = 0;
        for b in self.repacked_blobs() {
            let t = match b.blob_type {
                BlobType::Data => 0,
                BlobType::Tree => 1,
            };
            let len = b.stored_len as u64;
            if open[t] > 0 && open[t] + len > target {
                count += 1;
                open[t] = 0;
            }
            open[t] += len;
            if open[t] >= target {
                count += 1;
                open[t] = 0;
            }
        }
        count + open.iter().filter(|&&o| o > 0).count() as u64
    }
}

/// The partly used packs to repack, emptiest first, until the unused bytes left in used packs are
/// within the limit (or the most to repack is reached), leaving out `exclude`; and the unused
/// bytes left in used packs after.
fn choose_repack(
    packs: &[PackUse],
    limits: &Limits,
    exclude: &HashSet<usize>,
) -> (Vec<usize>, u64) {
    let bytes_before: u64 = packs.iter().map(|p| p.record.size as u64).sum();
    let unused_before: u64 = packs.iter().map(|p| p.unused_bytes).sum();
    let used_bytes = bytes_before.saturating_sub(unused_before);
    let allowed = (used_bytes as f64 * limits.max_unused_percent / 100.0) as u64;
    let mut remaining_unused: u64 = packs
        .iter()
        .filter(|p| !p.used.is_empty())
        .map(|p| p.unused_bytes)
        .sum();
    let mut partly: Vec<usize> = (0..packs.len())
        .filter(|&i| !packs[i].used.is_empty() && packs[i].unused_bytes > 0)
        .filter(|i| !exclude.contains(i))
        .collect();
    partly.sort_by(|&a, &b| {
        let ra = packs[a].unused_bytes as f64 / packs[a].record.size.max(1) as f64;
        let rb = packs[b].unused_bytes as f64 / packs[b].record.size.max(1) as f64;
        rb.total_cmp(&ra)
    });
    let mut repack: Vec<usize> = Vec::new();
    let mut repack_bytes = 0u64;
    for i in partly {
        if remaining_unused <= allowed {
            break;
        }
        let size = packs[i].record.size as u64;
        if limits.max_repack.is_some_and(|m| repack_bytes + size > m) {
            break;
        }
        repack_bytes += size;
        remaining_unused -= packs[i].unused_bytes;
        repack.push(i);
    }
    (repack, remaining_unused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob_entry::Compression;

    fn entry(t: BlobType, n: u8, len: u32) -> BlobEntry {
        BlobEntry {
            blob_type: t,
            compression: Compression::None,
            offset: 0,
            stored_len: len,
            raw_len: len - 40,
            id: BlobId([n; 32]),
        }
    }

    fn pack(n: u8, blobs: Vec<BlobEntry>) -> PackRecord {
        PackRecord {
            id: PackId([n; 32]),
            size: blobs.iter().map(|b| b.stored_len).sum::<u32>() + 100,
            blobs,
        }
    }

    fn stored(packs: &[&PackRecord]) -> HashMap<String, u64> {
        packs
            .iter()
            .map(|p| (p.id.to_hex(), p.size as u64))
            .collect()
    }

    const ALL: Limits = Limits {
        max_unused_percent: 0.0,
        max_repack: None,
    };

    #[test]
    fn a_copy_in_a_missing_pack_does_not_count() {
        // Blob 1 is in pack 10 (missing from the store) and pack 11 (stored): pack 11 must keep it.
        let p10 = pack(10, vec![entry(BlobType::Data, 1, 100)]);
        let p11 = pack(11, vec![entry(BlobType::Data, 1, 100)]);
        let files = vec![(
            IndexId([1; 32]),
            IndexFile {
                supersedes: vec![],
                packs: vec![p10.clone(), p11.clone()],
            },
        )];
        let used: HashSet<BlobId> = [BlobId([1; 32])].into();
        let plan = Plan::new(&files, &used, &stored(&[&p11]), &ALL).unwrap();
        assert_eq!(plan.missing, 1);
        assert_eq!(plan.delete, vec![0], "the missing pack leaves the index");
        assert_eq!(plan.packs[1].used.len(), 1);
        // With only the missing copy, prune refuses.
        let err = Plan::new(&files, &used, &stored(&[]), &ALL).err().unwrap();
        assert!(err.to_string().contains("repair snapshots"), "{err}");
    }

    #[test]
    fn duplicates_and_superseded_files_make_the_index_untidy() {
        let p = pack(10, vec![entry(BlobType::Data, 1, 100)]);
        let file = |s: Vec<IndexId>| IndexFile {
            supersedes: s,
            packs: vec![p.clone()],
        };
        let used: HashSet<BlobId> = [BlobId([1; 32])].into();
        let st = stored(&[&p]);
        let one = vec![(IndexId([1; 32]), file(vec![]))];
        let plan = Plan::new(&one, &used, &st, &ALL).unwrap();
        assert!(plan.tidy && !plan.commits());
        let twice = vec![
            (IndexId([1; 32]), file(vec![])),
            (IndexId([2; 32]), file(vec![])),
        ];
        let plan = Plan::new(&twice, &used, &st, &ALL).unwrap();
        assert!(!plan.tidy && plan.commits() && plan.delete.is_empty());
        let stale = vec![
            (IndexId([1; 32]), file(vec![])),
            (IndexId([2; 32]), file(vec![IndexId([1; 32])])),
        ];
        let plan = Plan::new(&stale, &used, &st, &ALL).unwrap();
        assert!(!plan.tidy && plan.commits());
    }

    #[test]
    fn new_pack_count_follows_the_pack_size_rule() {
        let used: HashSet<BlobId> = (1..=5).map(|n| BlobId([n; 32])).collect();
        // Pack 10: four used data blobs of 400 bytes, one unused; pack 11: one used tree blob.
        let mut blobs: Vec<BlobEntry> = (1..=4).map(|n| entry(BlobType::Data, n, 400)).collect();
        blobs.push(entry(BlobType::Data, 9, 400));
        let p10 = pack(10, blobs);
        let p11 = pack(
            11,
            vec![entry(BlobType::Tree, 5, 100), entry(BlobType::Tree, 8, 900)],
        );
        let files = vec![(
            IndexId([1; 32]),
            IndexFile {
                supersedes: vec![],
                packs: vec![p10.clone(), p11.clone()],
            },
        )];
        let plan = Plan::new(&files, &used, &stored(&[&p10, &p11]), &ALL).unwrap();
        assert_eq!(plan.repack.len(), 2);
        // Target 1000: data 400+400 (the third would pass it), 400+400; tree 100.
        assert_eq!(plan.new_pack_count(1000), 3);
        // Target 800: each pair of data blobs reaches it exactly.
        assert_eq!(plan.new_pack_count(800), 3);
        assert_eq!(plan.new_pack_count(1 << 20), 2);
    }

    #[test]
    fn held_packs_are_neither_deleted_nor_repacked_and_others_take_their_place() {
        // Pack 10: wholly unused. Packs 11 and 12: half used; 11 is the emptier (repacked first).
        let p10 = pack(10, vec![entry(BlobType::Data, 1, 1000)]);
        let p11 = pack(
            11,
            vec![entry(BlobType::Data, 2, 100), entry(BlobType::Data, 3, 900)],
        );
        let p12 = pack(
            12,
            vec![entry(BlobType::Data, 4, 500), entry(BlobType::Data, 5, 500)],
        );
        let files = vec![(
            IndexId([1; 32]),
            IndexFile {
                supersedes: vec![],
                packs: vec![p10.clone(), p11.clone(), p12.clone()],
            },
        )];
        let used: HashSet<BlobId> = [BlobId([2; 32]), BlobId([4; 32])].into();
        let limits = Limits {
            max_unused_percent: 0.0,
            max_repack: Some(1200),
        };
        let mut plan = Plan::new(&files, &used, &stored(&[&p10, &p11, &p12]), &limits).unwrap();
        assert_eq!(
            (plan.delete.clone(), plan.repack.clone()),
            (vec![0], vec![1])
        );
        plan.hold(&[0].into(), &[1].into(), &limits);
        assert!(plan.delete.is_empty());
        assert_eq!(
            plan.repack,
            vec![2],
            "the next partly used pack is repacked instead"
        );
        assert_eq!(plan.unused_bytes_after, 1000 + 900);
        assert!(plan.commits());
    }

    #[test]
    fn superseded_files_go_in_an_order_that_never_revives_one() {
        let id = |n: u8| IndexId([n; 32]);
        let file = |sup: &[u8], packs: Vec<PackRecord>| IndexFile {
            supersedes: sup.iter().map(|n| id(*n)).collect(),
            packs,
        };
        let p = pack(1, vec![entry(BlobType::Data, 1, 100)]);
        // 1 and 2: old data files; 3: a commit superseding them; 4: data; 5: a commit
        // superseding 3 and 4 only (as prune's second phase writes); 6: the live data file.
        let files = vec![
            (id(1), file(&[], vec![p.clone()])),
            (id(2), file(&[], vec![p.clone()])),
            (id(3), file(&[1, 2], vec![])),
            (id(4), file(&[], vec![p.clone()])),
            (id(5), file(&[3, 4], vec![])),
            (id(6), file(&[], vec![p.clone()])),
        ];
        let used: HashSet<BlobId> = [BlobId([1; 32])].into();
        let plan = Plan::new(&files, &used, &stored(&[&p]), &ALL).unwrap();
        assert!(!plan.tidy && !plan.duplicated);
        // Everything superseded can go, 3 only after 1 and 2.
        let order = plan.removable_superseded(&HashSet::new());
        assert_eq!(order.len(), 4, "{order:?}");
        let pos = |n: u8| order.iter().position(|x| *x == id(n)).unwrap();
        assert!(pos(3) > pos(1) && pos(3) > pos(2), "{order:?}");
        // 1 kept (under retention): 3, which alone supersedes it, must stay too.
        let order = plan.removable_superseded(&[id(1)].into());
        assert_eq!(order, vec![id(2), id(4)]);
        // 3 kept: 1 and 2 go.
        let order = plan.removable_superseded(&[id(3)].into());
        assert_eq!(order, vec![id(1), id(2), id(4)]);
    }
}
