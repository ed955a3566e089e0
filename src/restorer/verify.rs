//! `restore --verify`: every file restored completely is read back through a checked handle and
//! each range is hashed as the blob it came from (keyed BLAKE3, the blob's ID), so a write the
//! file system lost or garbled is found without reading the repository again.

use super::{RestoreError, Run};
use crate::error::{err, Error};
use crate::format::tree::NodeKind;
use crate::repository::Repository;
use rayon::prelude::*;
use rustix::fs::OFlags;
use std::io::Read;
use std::sync::atomic::Ordering;

impl Run<'_> {
    /// Reads back each complete file written by this restore (hard links once, kept files not)
    /// and records a mismatch as an error naming the file and the offset.
    pub(super) fn verify(&self, repo: &Repository) {
        let files: Vec<usize> = (0..self.items.len())
            .filter(|&i| {
                let it = &self.items[i];
                it.node.kind == NodeKind::File
                    && it.link_to.is_none()
                    && self.states[i].complete()
                    && !self.states[i].skipped.load(Ordering::Relaxed)
            })
            .collect();
        files.par_iter().for_each(|&i| {
            let it = &self.items[i];
            match self.verify_file(repo, i) {
                Ok(()) => {
                    self.verified.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.states[i].fail(format!("{e:#}"));
                    self.error(RestoreError::at(&it.snap_path, e));
                }
            }
        });
    }

    fn verify_file(&self, repo: &Repository, i: usize) -> crate::error::Result<()> {
        let (it, st) = (&self.items[i], &self.states[i]);
        let shown = self.target.show(&it.rel);
        let ident = *st
            .ident
            .get()
            .ok_or_else(|| err!(Other, "{} was not made", shown.display()))?;
        let fd = self.target.open_checked(&it.rel, OFlags::RDONLY, ident)?;
        let mut f = std::fs::File::from(fd);
        let mut buf = Vec::new();
        let mut offset = 0u64;
        for id in &it.node.content {
            let len = repo
                .index()
                .get(id)
                .ok_or_else(|| err!(NotFound, "blob {id} is not in the index"))?
                .entry
                .raw_len as usize;
            buf.resize(len, 0);
            f.read_exact(&mut buf).map_err(|e| {
                Error::from(e).context(format!(
                    "--verify: reading {} at offset {offset}",
                    shown.display()
                ))
            })?;
            if repo.keys().blob_id(&buf) != *id {
                return Err(err!(
                    Corrupt,
                    "--verify: {} differs from the snapshot in the {len} bytes at offset {offset}",
                    shown.display()
                ));
            }
            offset += len as u64;
        }
        let mut extra = [0u8; 1];
        if f.read(&mut extra)? != 0 {
            return Err(err!(
                Corrupt,
                "--verify: {} is longer than the snapshot's {offset} bytes",
                shown.display()
            ));
        }
        Ok(())
    }
}
