//! `shopify erase-customer`: removes every byte of one customer's folder (`customers/<ID>/`, where
//! the export keeps all of a customer's personal data) from every snapshot of the repository:
//! each snapshot holding it is rewritten without it, the originals are forgotten, and prune
//! repacks every pack that held any of it. Then the index is checked for what is left.

use super::diff::{root_of, ExportSnapshot};
use crate::error::{err, Context, Result};
use crate::format::tree::{Node, NodeKind};
use crate::ids::{BlobId, SnapshotId};
use crate::inspect::tree_reader::TreeReader;
use crate::maintenance::prune::{prune, PruneOptions, PruneReport};
use crate::maintenance::rewrite::{rewrite, RewriteOptions, Rewritten};
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;
use std::collections::{BTreeMap, BTreeSet};

/// What an erasure did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EraseReport {
    /// The customer's folder name (`7`, `guest-55`).
    pub customer: String,
    /// The snapshots that held the folder, rewritten without it.
    pub rewritten: Vec<Rewritten>,
    /// Blobs (file contents and folder listings) of the customer's folder before the erasure.
    pub blobs_found: usize,
    /// Those still in the index afterwards (0 unless another file holds the very same bytes, or
    /// the storage refused a deletion).
    pub blobs_left: usize,
    /// The prune that freed them (none in a dry run or when nothing matched).
    pub prune: Option<PruneReport>,
}

/// Checks a customer folder name: a numeric ID, or `guest-<order ID>`.
pub fn check_customer(id: &str) -> Result<()> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(id) || id.strip_prefix("guest-").is_some_and(digits) {
        Ok(())
    } else {
        Err(err!(
            InvalidInput,
            "{id:?} is not a customer: give the numeric customer ID (the end of \
             gid://shopify/Customer/ID), or guest-ORDERID for an order placed without an account"
        ))
    }
}

/// Erases `customer`'s folder from every export snapshot `filter` selects. With `dry_run`,
/// reports which snapshots would be rewritten and changes nothing.
pub fn erase_customer(
    repo: &mut Repository,
    filter: &SnapshotFilter,
    customer: &str,
    dry_run: bool,
) -> Result<EraseReport> {
    check_customer(customer)?;
    let folder = format!("customers/{customer}");
    // Each snapshot holding the folder, by the path of its export in the tree.
    let mut by_root: BTreeMap<String, Vec<SnapshotId>> = BTreeMap::new();
    let mut blobs = BTreeSet::new();
    {
        let lock = repo.lock_for_reading()?;
        repo.load_index(&lock).context("loading the index")?;
        let r: &Repository = repo;
        for (id, snap) in r.snapshots()? {
            if !filter.matches(&snap) {
                continue;
            }
            let Ok(export) = root_of(r, id, snap) else {
                continue;
            };
            let Some(dir) = dir_in(r, &export, &folder)? else {
                continue;
            };
            collect(r, &dir, &mut blobs, 0)?;
            by_root
                .entry(export.tree_path.clone())
                .or_default()
                .push(id);
        }
    }
    let mut report = EraseReport {
        customer: customer.to_string(),
        rewritten: Vec::new(),
        blobs_found: blobs.len(),
        blobs_left: 0,
        prune: None,
    };
    if by_root.is_empty() {
        return Ok(report);
    }
    for (root, ids) in &by_root {
        let opts = RewriteOptions {
            excludes: vec![format!("/{root}/{folder}")],
            iexcludes: Vec::new(),
            forget: true,
            dry_run,
        };
        let specs: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let done = rewrite(repo, &specs, &SnapshotFilter::default(), &opts)
            .with_context(|| format!("rewriting the snapshots without {folder}"))?;
        report.rewritten.extend(done);
    }
    if dry_run {
        report.blobs_left = report.blobs_found;
        return Ok(report);
    }
    // Every pack holding a byte of the folder is repacked or deleted, whatever its storage class.
    let opts = PruneOptions {
        max_unused_percent: 0.0,
        repack_cold: true,
        delete_cold_early: true,
        ..PruneOptions::default()
    };
    report.prune = Some(prune(repo, &opts).context("pruning the erased data")?);
    let lock = repo.lock_for_reading()?;
    repo.load_index(&lock)
        .context("loading the index after prune")?;
    report.blobs_left = blobs.iter().filter(|b| repo.index().contains(b)).count();
    Ok(report)
}

/// The folder at `rel` of an export snapshot, if there is one.
fn dir_in(repo: &Repository, export: &ExportSnapshot, rel: &str) -> Result<Option<Node>> {
    let reader = TreeReader::new(repo);
    let mut node = export.root.clone();
    for part in rel.split('/') {
        let children = reader.load(&node.content)?;
        match children.into_iter().find(|c| c.name == part.as_bytes()) {
            Some(c) if c.kind == NodeKind::Dir => node = c,
            _ => return Ok(None),
        }
    }
    Ok(Some(node))
}

/// Adds the tree blobs and content blobs under `dir` to `out`.
fn collect(repo: &Repository, dir: &Node, out: &mut BTreeSet<BlobId>, depth: usize) -> Result<()> {
    if depth > 64 {
        return Err(err!(
            Corrupt,
            "a customer folder nested more than 64 levels deep"
        ));
    }
    out.extend(dir.content.iter().copied());
    let reader = TreeReader::new(repo);
    for child in reader.load(&dir.content)? {
        match child.kind {
            NodeKind::Dir => collect(repo, &child, out, depth + 1)?,
            _ => out.extend(child.content.iter().copied()),
        }
    }
    Ok(())
}
