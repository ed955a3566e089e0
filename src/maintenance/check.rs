//! `check`: structural checks of index, packs, snapshots and trees; optionally reads pack data and
//! verifies every blob. Problems are collected, each naming the object, rather than stopping early.

use crate::backend::FileType;
use crate::error::{bail, err};
use crate::error::{Error, Result};
use crate::format::index::{IndexFile, PackRecord};
use crate::format::tree::{Node, NodeKind};
use crate::ids::{storage_hash, BlobId, IndexId, PackId};
use crate::repository::lock::LockKind;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::{MasterIndex, Repository};
use crate::sync::unpoisoned;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Which packs to read in full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadData {
    /// Read no pack: check the structure only.
    None,
    /// Read every pack.
    All,
    /// Packs whose subset number (first ID byte mod m) is n-1.
    Subset {
        /// Which subset, from 1.
        n: u32,
        /// How many subsets, at most 256.
        m: u32,
    },
    /// A random sample of this percentage of packs.
    Percent(f64),
}

impl ReadData {
    /// Parses `N/M` or `P%`.
    pub fn parse_subset(s: &str) -> Result<ReadData> {
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| err!(InvalidInput, "--read-data-subset {s:?}: bad percentage"))?;
            if !(v > 0.0 && v <= 100.0) {
                bail!(
                    InvalidInput,
                    "--read-data-subset {s:?}: percentage must be in (0, 100]"
                );
            }
            return Ok(ReadData::Percent(v));
        }
        let (n, m) = s.split_once('/').ok_or_else(|| {
            err!(
                InvalidInput,
                "--read-data-subset {s:?}: use N/M (e.g. 1/5) or P% (e.g. 5%)"
            )
        })?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| err!(InvalidInput, "--read-data-subset {s:?}: bad N"))?;
        let m: u32 = m
            .trim()
            .parse()
            .map_err(|_| err!(InvalidInput, "--read-data-subset {s:?}: bad M"))?;
        if m == 0 || n == 0 || n > m || m > 256 {
            bail!(
                InvalidInput,
                "--read-data-subset {s:?}: need 1 <= N <= M <= 256"
            );
        }
        Ok(ReadData::Subset { n, m })
    }

    fn selects(&self, id: &PackId) -> bool {
        match *self {
            ReadData::None => false,
            ReadData::All => true,
            ReadData::Subset { n, m } => (id.0[0] as u32 % m) == n - 1,
            ReadData::Percent(p) => rand::random::<f64>() * 100.0 < p,
        }
    }
}

/// What `check` found and how much it looked at.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Problems: anything that could make a restore fail or be wrong.
    pub errors: Vec<Finding>,
    /// Harmless findings (e.g. packs no index lists, left by an interrupted backup).
    pub notes: Vec<String>,
    /// Index files read.
    pub index_files: usize,
    /// Pack files in the store.
    pub packs: usize,
    /// Snapshot files, readable or not.
    pub snapshots: usize,
    /// Distinct tree blobs the snapshots reach.
    pub tree_blobs: usize,
    /// Distinct data blobs the snapshots reference.
    pub data_blobs: usize,
    /// Packs selected to be read in full and verified blob by blob.
    pub packs_read: usize,
    /// Bytes of the packs read in full.
    pub bytes_read: u64,
    /// Packs selected to be read that are in an archive storage class and not restored (S3
    /// Glacier, Deep Archive): skipped, not read and not counted in `packs_read`. `restore` or
    /// `dump` of the data in them requests their restore; a restored pack is read.
    pub packs_archived_skipped: usize,
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `index/<name>`.
    IndexFile(String),
    /// `data/<name>` (a pack).
    Pack(String),
    /// `snapshots/<name>`, or the short ID of a snapshot that decoded.
    Snapshot(String),
}

/// A problem check found: what it is about, and the error (whose message names the object, and
/// which is shown with its whole chain).
#[derive(Debug)]
pub struct Finding {
    pub subject: Subject,
    pub error: Error,
}

impl Finding {
    fn new(subject: Subject, error: Error) -> Self {
        Finding { subject, error }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// As its message, as the `--json` report has always shown findings.
impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Checks the repository under a read lock, in phases that each add their findings to the report:
/// index files (which also become the repository's index, read once), packs against the listing,
/// snapshot trees, then the pack data `read` selects.
pub fn check(repo: &mut Repository, read: ReadData) -> Result<CheckReport> {
    let _guard = repo.lock(LockKind::Read)?;
    let mut r = CheckReport::default();
    let indexed = check_index_files(repo, &mut r)?;
    check_packs(repo, &indexed, &mut r)?;
    check_snapshots(repo, &mut r)?;
    read_packs(repo, &indexed, read, &mut r);
    Ok(r)
}

/// Decodes every index file one by one, so a broken file is a finding, not fatal, and makes the
/// ones that decoded the repository's index (so the tree walk can go on). Returns the packs the
/// live (not superseded) files list.
fn check_index_files(
    repo: &mut Repository,
    r: &mut CheckReport,
) -> Result<HashMap<PackId, PackRecord>> {
    let mut files: Vec<(IndexId, IndexFile)> = Vec::new();
    for (name, _) in repo.backend().list(FileType::Index)? {
        r.index_files += 1;
        let res = IndexId::from_hex(&name)
            .map_err(|e| err!(Corrupt, "{e}"))
            .and_then(|id| Ok((id, repo.read_index_file(id, None)?)));
        match res {
            Ok(f) => files.push(f),
            Err(e) => r.errors.push(Finding::new(
                Subject::IndexFile(name.clone()),
                e.context(format!("index/{name}")),
            )),
        }
    }
    let superseded: HashSet<IndexId> = files
        .iter()
        .flat_map(|(_, f)| f.supersedes.iter().copied())
        .collect();
    let mut indexed: HashMap<PackId, PackRecord> = HashMap::new();
    for (id, f) in &files {
        if superseded.contains(id) {
            r.notes.push(format!(
                "index/{id} is superseded and can be deleted (prune does)"
            ));
            continue;
        }
        for p in &f.packs {
            indexed.entry(p.id).or_insert_with(|| p.clone());
        }
    }
    repo.set_index(MasterIndex::from_files(files));
    Ok(indexed)
}

/// Every indexed pack exists with its indexed size; every stored pack is indexed.
fn check_packs(
    repo: &Repository,
    indexed: &HashMap<PackId, PackRecord>,
    r: &mut CheckReport,
) -> Result<()> {
    let stored: HashMap<String, u64> = repo.backend().list(FileType::Pack)?.into_iter().collect();
    r.packs = stored.len();
    for (id, p) in indexed {
        let found = match stored.get(&id.to_hex()) {
            None => err!(
                NotFound,
                "pack {id} is in the index but missing from the repository"
            ),
            Some(&size) if size != p.size as u64 => err!(
                Corrupt,
                "pack {id} is {size} bytes, but the index says {}",
                p.size
            ),
            Some(_) => continue,
        };
        r.errors
            .push(Finding::new(Subject::Pack(id.to_hex()), found));
    }
    for name in stored.keys() {
        let known = PackId::from_hex(name)
            .map(|id| indexed.contains_key(&id))
            .unwrap_or(false);
        if !known {
            r.notes.push(format!(
                "pack {name} is not in the index (left by an interrupted run; prune removes it)"
            ));
        }
    }
    Ok(())
}

/// Snapshots and their trees: every snapshot file decodes, every tree is readable, every
/// referenced data blob is indexed.
fn check_snapshots(repo: &Repository, r: &mut CheckReport) -> Result<()> {
    let list = repo.snapshot_list()?;
    for b in list.damaged.iter().chain(&list.unreadable) {
        r.errors.push(Finding::new(
            Subject::Snapshot(b.name.clone()),
            err!(Corrupt, "snapshot {}: {}", b.name, b.reason),
        ));
    }
    for b in &list.foreign {
        r.notes.push(format!(
            "snapshots/{}: {} (not written by backstock; move it out of the repository)",
            b.name, b.reason
        ));
    }
    r.snapshots = list.snapshots.len() + list.damaged.len() + list.unreadable.len();
    let mut walker = TreeCheck {
        repo,
        short: String::new(),
        seen_trees: HashSet::new(),
        seen_data: HashSet::new(),
        errors: Vec::new(),
    };
    for (snap_id, snap) in &list.snapshots {
        walker.short = snap_id.short();
        walk(&mut walker, "/", &[snap.tree])?;
    }
    r.errors.append(&mut walker.errors);
    r.tree_blobs = walker.seen_trees.len();
    r.data_blobs = walker.seen_data.len();
    Ok(())
}

/// Walks snapshot trees, each directory once however many snapshots hold it: an unreadable
/// directory and a data blob missing from the index are findings, and the walk goes on.
struct TreeCheck<'r> {
    repo: &'r Repository,
    /// The snapshot being walked, for messages.
    short: String,
    seen_trees: HashSet<BlobId>,
    seen_data: HashSet<BlobId>,
    errors: Vec<Finding>,
}

impl TreeCheck<'_> {
    fn finding(&mut self, e: Error) {
        self.errors
            .push(Finding::new(Subject::Snapshot(self.short.clone()), e));
    }
}

impl Visitor for TreeCheck<'_> {
    type Summary = ();

    /// A directory whose tree blobs were all walked before is done.
    fn known(&mut self, dir: &Dir) -> Option<()> {
        let before = self.seen_trees.len();
        self.seen_trees.extend(dir.ids.iter().copied());
        (self.seen_trees.len() == before).then_some(())
    }

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.repo.load_tree(dir.ids)
    }

    fn entry(&mut self, dir: &Dir, n: &Node) -> Result<bool> {
        if n.kind == NodeKind::File {
            for c in &n.content {
                if self.seen_data.insert(*c) && !self.repo.index().contains(c) {
                    let e = err!(
                        NotFound,
                        "snapshot {}: {}: data blob {c} is not in the index",
                        self.short,
                        dir.child(n)
                    );
                    self.finding(e);
                }
            }
        }
        Ok(true)
    }

    fn unreadable(&mut self, dir: &Dir, e: Error) -> Result<()> {
        let tree = dir.ids.first().map(|i| i.short()).unwrap_or_default();
        let e = dir
            .name_in(e)
            .context(format!("snapshot {}: tree {tree}", self.short));
        self.finding(e);
        Ok(())
    }

    fn leave(&mut self, _: &Dir, _: Vec<Node>, _: Vec<Option<()>>) -> Result<()> {
        Ok(())
    }
}

/// Reads the packs `read` selects: hash of the whole pack, header against the index, every blob
/// decrypted and verified.
fn read_packs(
    repo: &Repository,
    indexed: &HashMap<PackId, PackRecord>,
    read: ReadData,
    r: &mut CheckReport,
) {
    let selected: Vec<(&PackId, &PackRecord)> =
        indexed.iter().filter(|(id, _)| read.selects(id)).collect();
    let errors = Mutex::new(Vec::new());
    let skipped = AtomicUsize::new(0);
    let bytes_read: u64 = selected
        .par_iter()
        .map(|(id, rec)| {
            // A pack in an archive class cannot be read until it is restored: skipped, and
            // counted, rather than reported as damage.
            match repo.backend().availability(FileType::Pack, &id.to_hex()) {
                Ok(a) if !a.readable() => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    return 0;
                }
                _ => {}
            }
            let (problems, n) = read_pack(repo, id, rec);
            let subject = Subject::Pack(id.to_hex());
            unpoisoned(&errors).extend(
                problems
                    .into_iter()
                    .map(|e| Finding::new(subject.clone(), e)),
            );
            n
        })
        .sum();
    r.packs_archived_skipped = skipped.into_inner();
    r.packs_read = selected.len() - r.packs_archived_skipped;
    r.bytes_read = bytes_read;
    r.errors
        .extend(errors.into_inner().unwrap_or_else(|e| e.into_inner()));
}

fn read_pack(repo: &Repository, id: &PackId, rec: &PackRecord) -> (Vec<Error>, u64) {
    let mut errs = Vec::new();
    let bytes = match repo.backend().read(FileType::Pack, &id.to_hex()) {
        Ok(b) => b,
        Err(e) => return (vec![Error::from(e).context(format!("pack {id}"))], 0),
    };
    let n = bytes.len() as u64;
    if storage_hash(&bytes) != id.0 {
        errs.push(err!(
            Corrupt,
            "pack {id}: content does not match its name (the file is damaged)"
        ));
    }
    match repo.parse_pack(&bytes) {
        Ok(mut header) => {
            let mut indexed = rec.blobs.clone();
            header.sort_by_key(|e| e.offset);
            indexed.sort_by_key(|e| e.offset);
            if header != indexed {
                errs.push(err!(
                    Corrupt,
                    "pack {id}: header does not match the index (run `backstock repair index`)"
                ));
            }
        }
        Err(e) => errs.push(e.context(format!("pack {id}: header"))),
    }
    for e in &rec.blobs {
        let Some(sealed) = bytes.get(e.offset as usize..e.end() as usize) else {
            errs.push(err!(
                Corrupt,
                "pack {id}: blob {} lies outside the pack",
                e.id
            ));
            continue;
        };
        if let Err(err) = repo.open_blob(e, sealed) {
            errs.push(err.context(format!("pack {id}")));
        }
    }
    (errs, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_parsing() {
        assert_eq!(
            ReadData::parse_subset("1/5").unwrap(),
            ReadData::Subset { n: 1, m: 5 }
        );
        assert_eq!(
            ReadData::parse_subset("5%").unwrap(),
            ReadData::Percent(5.0)
        );
        for bad in ["0/5", "6/5", "1/0", "x", "150%", "0%"] {
            assert!(ReadData::parse_subset(bad).is_err(), "{bad}");
        }
        // Subsets 1..=m of m partition the packs.
        let id = PackId([7; 32]);
        let hits = (1..=4)
            .filter(|&n| ReadData::Subset { n, m: 4 }.selects(&id))
            .count();
        assert_eq!(hits, 1);
    }
}
