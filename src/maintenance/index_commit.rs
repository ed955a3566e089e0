//! Replacing the whole index atomically (docs/design.md §11, "Prune"), for prune and repair.
//!
//! The new index files supersede nothing; one last commit file, with no packs, supersedes every old
//! file. Until the commit file lands, readers see the old files plus some new ones, which list only
//! packs that are already indexed or that nothing references yet (readers tolerate a pack listed
//! twice). Once it lands they see exactly the new set. No reader ever sees a set that lacks a pack.

use crate::error::{Context, Result};
use crate::format::index::{IndexFile, PackRecord};
use crate::ids::IndexId;
use crate::repository::Repository;

use crate::backend::FileType;

/// Writes `packs` as new index files of at most `per_file` blobs each (a pack with more blobs gets a
/// file of its own), superseding nothing, then the commit file superseding `old`. Returns the IDs of
/// the files written, the commit file last. With no old files there is nothing to supersede and no
/// commit file is written.
pub fn commit(
    repo: &Repository,
    packs: Vec<PackRecord>,
    old: &[IndexId],
    per_file: usize,
) -> Result<Vec<IndexId>> {
    let mut written = repo
        .write_index_files(packs, per_file)
        .context(WRITE_ADVICE)?;
    if !old.is_empty() {
        let commit = IndexFile {
            supersedes: old.to_vec(),
            packs: Vec::new(),
        };
        written.push(repo.write_index(&commit).context(WRITE_ADVICE)?);
    }
    Ok(written)
}

const WRITE_ADVICE: &str = "writing the new index (the old index stays in force; nothing was \
                            deleted; the next prune or `repair index` removes the new index files \
                            written so far)";
/// Deletes index files that a commit superseded, stopping at the first failure. Files left behind
/// stay superseded, which readers ignore, and the next prune or repair deletes them.
pub fn delete_superseded(repo: &Repository, ids: &[IndexId]) -> Result<()> {
    for id in ids {
        repo.delete(FileType::Index, &id.to_hex())
            .with_context(|| {
                format!(
                    "deleting superseded index file {id} (it is ignored by readers; \
                     the next prune removes it)"
                )
            })?;
    }
    Ok(())
}
