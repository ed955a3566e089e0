//! Saving one file: reuse the parent's content when unchanged, else classify, chunk and save blobs.

use super::Archiver;
use crate::chunker::{classify, Class, StreamChunker};
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use anyhow::Result;
use rayon::prelude::*;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Files up to this size are read whole; larger ones are streamed through a fixed buffer.
const WHOLE_FILE_MAX: u64 = 4 << 20;
const STREAM_BUF: usize = 8 << 20;

/// A file is unchanged when size, mtime, ctime and inode all match the parent's node.
fn unchanged(meta: &Metadata, p: &Node) -> bool {
    p.kind == NodeKind::File
        && p.size == meta.len()
        && p.mtime.sec == meta.mtime()
        && p.mtime.nsec as i64 == meta.mtime_nsec()
        && p.ctime.sec == meta.ctime()
        && p.ctime.nsec as i64 == meta.ctime_nsec()
        && p.inode == meta.ino()
}

impl Archiver<'_> {
    pub(super) fn save_file(
        &self,
        path: &Path,
        name: Vec<u8>,
        meta: &Metadata,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        if let Some(p) = parent.filter(|p| !self.force && unchanged(meta, p)) {
            if p.content
                .iter()
                .all(|id| self.saver.repo().index().contains(id))
            {
                self.counters
                    .files_unchanged
                    .fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bytes_processed
                    .fetch_add(meta.len(), Ordering::Relaxed);
                self.progress.files.fetch_add(1, Ordering::Relaxed);
                self.progress.bytes.fetch_add(meta.len(), Ordering::Relaxed);
                let mut n = super::walk::node_from_meta(
                    name,
                    NodeKind::File,
                    meta,
                    p.content.clone(),
                    vec![],
                );
                n.size = p.size;
                return Ok(Some(n));
            }
        }
        let content = match self.read_and_save(path, meta.len()) {
            Ok(Ok(c)) => c,
            Ok(Err(io)) => {
                self.fail(path, io);
                return Ok(None);
            }
            Err(fatal) => return Err(fatal),
        };
        let (ids, size) = content;
        let counter = match parent {
            None => &self.counters.files_new,
            Some(p) if p.kind == NodeKind::File && p.content == ids => {
                &self.counters.files_unchanged
            }
            Some(_) => &self.counters.files_changed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.progress.files.fetch_add(1, Ordering::Relaxed);
        let mut n = super::walk::node_from_meta(name, NodeKind::File, meta, ids, vec![]);
        n.size = size;
        Ok(Some(n))
    }

    /// Outer error: fatal (repository); inner error: this file could not be read.
    fn read_and_save(&self, path: &Path, len: u64) -> Result<std::io::Result<(Vec<BlobId>, u64)>> {
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if len <= WHOLE_FILE_MAX {
            let mut data = Vec::with_capacity(len as usize + 1);
            if let Err(e) = f.read_to_end(&mut data) {
                return Ok(Err(e));
            }
            let ids = self.save_bytes(&data)?.0;
            return Ok(Ok((ids, data.len() as u64)));
        }
        let mut sample = Vec::with_capacity(crate::chunker::classify::SAMPLE_LEN);
        if let Err(e) = (&mut f)
            .take(crate::chunker::classify::SAMPLE_LEN as u64)
            .read_to_end(&mut sample)
        {
            return Ok(Err(e));
        }
        let class = classify(&sample);
        let chunker = self.saver.repo().chunker(class);
        let mut stream = StreamChunker::new(chunker, f, &sample, STREAM_BUF);
        let mut ids = Vec::new();
        let mut size = 0u64;
        loop {
            let (buf, ranges) = match stream.next_batch() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => return Ok(Err(e)),
            };
            let batch: u64 = ranges.iter().map(|r| r.len() as u64).sum();
            let batch_ids = self.save_chunks(buf, &ranges, class)?;
            ids.extend(batch_ids);
            size += batch;
            self.counters.bytes_read.fetch_add(batch, Ordering::Relaxed);
            self.counters
                .bytes_processed
                .fetch_add(batch, Ordering::Relaxed);
            self.progress.bytes.fetch_add(batch, Ordering::Relaxed);
        }
        Ok(Ok((ids, size)))
    }

    /// Classifies, chunks and saves a whole in-memory file.
    pub(super) fn save_bytes(&self, data: &[u8]) -> Result<(Vec<BlobId>, Class)> {
        let class = classify(data);
        let ranges = self.saver.repo().chunker(class).chunks(data);
        let ids = self.save_chunks(data, &ranges, class)?;
        let n = data.len() as u64;
        self.counters.bytes_read.fetch_add(n, Ordering::Relaxed);
        self.counters
            .bytes_processed
            .fetch_add(n, Ordering::Relaxed);
        self.progress.bytes.fetch_add(n, Ordering::Relaxed);
        Ok((ids, class))
    }

    fn save_chunks(
        &self,
        buf: &[u8],
        ranges: &[std::ops::Range<usize>],
        class: Class,
    ) -> Result<Vec<BlobId>> {
        let compress = class == Class::Text;
        if ranges.len() <= 1 {
            return ranges
                .iter()
                .map(|r| self.save_blob(&buf[r.clone()], compress))
                .collect();
        }
        ranges
            .par_iter()
            .map(|r| self.save_blob(&buf[r.clone()], compress))
            .collect()
    }
}
