//! `check`: structural checks of index, packs, snapshots and trees; optionally reads pack data and
//! verifies every blob. Problems are collected, each naming the object, rather than stopping early.

use crate::backend::FileType;
use crate::error::Result;
use crate::format::index::{IndexFile, PackRecord};
use crate::format::pack;
use crate::format::tree::{self, NodeKind};
use crate::ids::{storage_hash, BlobId, IndexId, PackId};
use crate::repository::lock::LockKind;
use crate::repository::Repository;
use crate::sync::unpoisoned;
use crate::{bail, err};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Which packs to read in full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadData {
    None,
    All,
    /// Packs whose subset number (first ID byte mod m) is n-1.
    Subset {
        n: u32,
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

#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub errors: Vec<String>,
    /// Harmless findings (e.g. packs no index lists, left by an interrupted backup).
    pub notes: Vec<String>,
    pub index_files: usize,
    pub packs: usize,
    pub snapshots: usize,
    pub tree_blobs: usize,
    pub data_blobs: usize,
    pub packs_read: usize,
    pub bytes_read: u64,
}

pub fn check(repo: &mut Repository, read: ReadData) -> Result<CheckReport> {
    let guard = repo.lock(LockKind::Read)?;
    let mut r = CheckReport::default();

    // Index files, decoded one by one so a broken file is reported, not fatal.
    let mut files: Vec<(IndexId, IndexFile)> = Vec::new();
    for (name, _) in repo.backend().list(FileType::Index)? {
        r.index_files += 1;
        let res = IndexId::from_hex(&name)
            .map_err(|e| err!(Corrupt, "{e}"))
            .and_then(|id| Ok((id, repo.read_index_file(id, None)?)));
        match res {
            Ok(f) => files.push(f),
            Err(e) => r.errors.push(format!("index/{name}: {e:#}")),
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
    if r.errors.is_empty() {
        repo.load_index(&guard)?;
    } else {
        // Load what can be loaded so the tree walk can go on.
        repo.set_index(crate::repository::MasterIndex::from_files(files));
    }

    // Packs: every indexed pack exists with its indexed size; every stored pack is indexed.
    let stored: HashMap<String, u64> = repo.backend().list(FileType::Pack)?.into_iter().collect();
    r.packs = stored.len();
    for (id, p) in &indexed {
        match stored.get(&id.to_hex()) {
            None => r.errors.push(format!(
                "pack {id} is in the index but missing from the repository"
            )),
            Some(&size) if size != p.size as u64 => r.errors.push(format!(
                "pack {id} is {size} bytes, but the index says {}",
                p.size
            )),
            Some(_) => {}
        }
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

    // Snapshots and their trees: every tree readable, every referenced blob indexed.
    let list = repo.snapshot_list()?;
    for b in list.damaged.iter().chain(&list.unreadable) {
        r.errors.push(format!("snapshot {}: {}", b.name, b.reason));
    }
    for b in &list.foreign {
        r.notes.push(format!(
            "snapshots/{}: {} (not written by backstock; move it out of the repository)",
            b.name, b.reason
        ));
    }
    r.snapshots = list.snapshots.len() + list.damaged.len() + list.unreadable.len();
    let roots: Vec<(String, BlobId)> = list
        .snapshots
        .iter()
        .map(|(id, s)| (id.short(), s.tree))
        .collect();
    let mut seen_trees: HashSet<BlobId> = HashSet::new();
    let mut seen_data: HashSet<BlobId> = HashSet::new();
    for (snap, root) in roots {
        let mut stack: Vec<(String, BlobId)> = vec![(String::new(), root)];
        while let Some((path, id)) = stack.pop() {
            if !seen_trees.insert(id) {
                continue;
            }
            let nodes = match repo.read_blob(&id).and_then(|b| Ok(tree::decode_blob(&b)?)) {
                Ok(n) => n,
                Err(e) => {
                    r.errors
                        .push(format!("snapshot {snap}: tree {id} of {}/: {e:#}", path));
                    continue;
                }
            };
            for n in nodes {
                let p = format!("{path}/{}", n.name_lossy());
                match n.kind {
                    NodeKind::Dir => stack.extend(n.content.iter().map(|c| (p.clone(), *c))),
                    NodeKind::File => {
                        for c in &n.content {
                            if seen_data.insert(*c) && !repo.index().contains(c) {
                                r.errors.push(format!(
                                    "snapshot {snap}: {p}: data blob {c} is not in the index"
                                ));
                            }
                        }
                    }
                    NodeKind::Symlink => {}
                }
            }
        }
    }
    r.tree_blobs = seen_trees.len();
    r.data_blobs = seen_data.len();

    // Read data: hash of the whole pack, header against the index, every blob decrypted and verified.
    let selected: Vec<(&PackId, &PackRecord)> =
        indexed.iter().filter(|(id, _)| read.selects(id)).collect();
    let errors = Mutex::new(Vec::new());
    let bytes_read: u64 = selected
        .par_iter()
        .map(|(id, rec)| {
            let problems = read_pack(repo, id, rec);
            let n = problems.1;
            unpoisoned(&errors).extend(problems.0);
            n
        })
        .sum();
    r.packs_read = selected.len();
    r.bytes_read = bytes_read;
    r.errors
        .extend(errors.into_inner().unwrap_or_else(|e| e.into_inner()));
    Ok(r)
}

fn read_pack(repo: &Repository, id: &PackId, rec: &PackRecord) -> (Vec<String>, u64) {
    let mut errs = Vec::new();
    let bytes = match repo.backend().read(FileType::Pack, &id.to_hex()) {
        Ok(b) => b,
        Err(e) => return (vec![format!("pack {id}: {e:#}")], 0),
    };
    let n = bytes.len() as u64;
    if storage_hash(&bytes) != id.0 {
        errs.push(format!(
            "pack {id}: content does not match its name (the file is damaged)"
        ));
    }
    match pack::parse(&repo.keys().enc, &bytes) {
        Ok(mut header) => {
            let mut indexed = rec.blobs.clone();
            header.sort_by_key(|e| e.offset);
            indexed.sort_by_key(|e| e.offset);
            if header != indexed {
                errs.push(format!(
                    "pack {id}: header does not match the index (run `backstock repair index`)"
                ));
            }
        }
        Err(e) => errs.push(format!("pack {id}: header: {e}")),
    }
    for e in &rec.blobs {
        let Some(sealed) = bytes.get(e.offset as usize..e.end() as usize) else {
            errs.push(format!("pack {id}: blob {} lies outside the pack", e.id));
            continue;
        };
        if let Err(err) = repo.open_blob(e, sealed) {
            errs.push(format!("pack {id}: {err:#}"));
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
