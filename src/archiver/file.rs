//! Saving one file: reuse the parent's content when unchanged; else open the file that was listed,
//! read at most its listed size, classify, chunk and save blobs, and note a file that changed while
//! it was read.

use super::meta::{self, Meta};
use super::xattrs;
use super::{Archiver, FileStatus};
use crate::chunker::{classify, Class, StreamChunker};
use crate::error::Result;
use crate::format::tree::{Node, NodeKind, Xattr};
use crate::ids::BlobId;
use rayon::prelude::*;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::Ordering;

/// Files up to this size are read whole; larger ones are streamed through a fixed buffer.
const WHOLE_FILE_MAX: u64 = 4 << 20;
pub(super) const STREAM_BUF: usize = 8 << 20;

impl Archiver<'_> {
    /// A file is unchanged when size, mtime, ctime and inode all match the parent's node (ctime
    /// and inode unless told to ignore them).
    fn unchanged(&self, meta: &Meta, p: &Node) -> bool {
        p.kind == NodeKind::File
            && p.size == meta.size
            && p.mtime == meta.mtime
            && (self.ignore_ctime || p.ctime == meta.ctime)
            && (self.ignore_inode || p.inode == meta.ino)
    }
}

/// Reads at most `left` bytes, so that a file growing while it is read is stored as listed; at the
/// limit, one probe read tells whether the file has more (`grew`). The probe also makes a file
/// listed as empty that has content (as `/proc` files do) count as changed while read, instead of
/// passing as empty without a word.
struct Bounded<R> {
    inner: R,
    left: u64,
    probed: bool,
    grew: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            if !self.probed {
                let mut byte = [0u8; 1];
                let n = self.inner.read(&mut byte)?;
                self.probed = true;
                self.grew = n > 0;
            }
            return Ok(0);
        }
        let max = (buf.len() as u64).min(self.left) as usize;
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// What reading a file stored.
struct Stored {
    ids: Vec<BlobId>,
    size: u64,
    /// Size, mtime or ctime differed after the read from the listing, or the file grew or shrank.
    changed: bool,
    xattrs: Vec<Xattr>,
    /// Attributes that could not be read.
    xattr_problems: Vec<String>,
}

impl Archiver<'_> {
    /// Saves the regular file `name` of the open directory `dir`, listed with `meta`.
    pub(super) fn save_file(
        &self,
        dir: BorrowedFd<'_>,
        path: &Path,
        name: Vec<u8>,
        meta: &Meta,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        if let Some(p) = parent.filter(|p| !self.force && self.unchanged(meta, p)) {
            if p.content
                .iter()
                .all(|id| self.saver.repo().index().contains(id))
            {
                self.counters
                    .files_unchanged
                    .fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bytes_processed
                    .fetch_add(meta.size, Ordering::Relaxed);
                self.progress.files.fetch_add(1, Ordering::Relaxed);
                self.progress.bytes.fetch_add(meta.size, Ordering::Relaxed);
                // A change to the attributes changes the ctime, so the parent's are current when
                // it has any and the ctime counts. Otherwise they are looked up (one call), as a
                // parent written before attributes were stored has none.
                let xattrs = if p.xattrs.is_empty() || self.ignore_ctime {
                    let (x, problems) = xattrs::read(xattrs::Via::At(dir, &name));
                    for e in problems {
                        self.fail(path, e);
                    }
                    x
                } else {
                    p.xattrs.clone()
                };
                let mut n = meta.node(name, NodeKind::File, p.content.clone(), vec![]);
                n.size = p.size;
                n.xattrs = xattrs;
                self.file_saved(path, FileStatus::Unchanged, p.size);
                return Ok(Some(n));
            }
        }
        let stored = match self.read_and_save(dir, &name, meta) {
            Ok(Ok(s)) => s,
            Ok(Err(io)) => {
                self.fail(path, io);
                return Ok(None);
            }
            Err(fatal) => return Err(fatal),
        };
        if stored.changed {
            self.changed_while_read(path);
        }
        for p in &stored.xattr_problems {
            self.fail(path, p);
        }
        let (counter, status) = match parent {
            None => (&self.counters.files_new, FileStatus::New),
            Some(p) if p.kind == NodeKind::File && p.content == stored.ids => {
                (&self.counters.files_unchanged, FileStatus::Unchanged)
            }
            Some(_) => (&self.counters.files_changed, FileStatus::Modified),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.file_saved(path, status, stored.size);
        self.progress.files.fetch_add(1, Ordering::Relaxed);
        // The listed times are kept even for a file that changed while read, so the next backup
        // sees a difference and reads it again.
        let mut n = meta.node(name, NodeKind::File, stored.ids, vec![]);
        n.size = stored.size;
        n.xattrs = stored.xattrs;
        Ok(Some(n))
    }

    /// Outer error: fatal (repository); inner error: this file could not be read.
    fn read_and_save(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        meta: &Meta,
    ) -> Result<io::Result<Stored>> {
        let file = match meta::open_listed(dir, name, meta) {
            Ok((fd, _)) => File::from(fd),
            Err(e) => return Ok(Err(e)),
        };
        let mut reader = Bounded {
            inner: &file,
            left: meta.size,
            probed: false,
            grew: false,
        };
        let (ids, size) = if meta.size <= WHOLE_FILE_MAX {
            let mut data = Vec::with_capacity(meta.size as usize);
            if let Err(e) = reader.read_to_end(&mut data) {
                return Ok(Err(e));
            }
            (self.save_bytes(&data)?.0, data.len() as u64)
        } else {
            match self.stream(&mut reader)? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            }
        };
        let after = match rustix::fs::fstat(file.as_fd()) {
            Ok(st) => Meta::from_stat(&st),
            Err(e) => return Ok(Err(e.into())),
        };
        let changed = reader.grew || size != meta.size || !after.same_content_stamp(meta);
        let (xattrs, xattr_problems) = xattrs::read(xattrs::Via::Fd(file.as_fd()));
        Ok(Ok(Stored {
            ids,
            size,
            changed,
            xattrs,
            xattr_problems,
        }))
    }

    /// Classifies a large file by its first bytes and saves it batch by batch.
    pub(super) fn stream(&self, reader: &mut dyn Read) -> Result<io::Result<(Vec<BlobId>, u64)>> {
        let mut sample = Vec::with_capacity(crate::chunker::classify::SAMPLE_LEN);
        if let Err(e) = reader
            .take(crate::chunker::classify::SAMPLE_LEN as u64)
            .read_to_end(&mut sample)
        {
            return Ok(Err(e));
        }
        let class = classify(&sample);
        let chunker = self.saver.repo().chunker(class);
        let mut stream = StreamChunker::new(chunker, reader, &sample, STREAM_BUF);
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

#[cfg(test)]
mod tests {
    use super::Bounded;
    use std::io::Read;

    fn read_bounded(data: &[u8], limit: u64) -> (Vec<u8>, bool) {
        let mut r = Bounded {
            inner: data,
            left: limit,
            probed: false,
            grew: false,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (out, r.grew)
    }

    #[test]
    fn bounded_reads_at_most_the_limit_and_notices_more() {
        assert_eq!(read_bounded(b"abcdef", 6), (b"abcdef".to_vec(), false));
        assert_eq!(read_bounded(b"abcdef", 4), (b"abcd".to_vec(), true));
        assert_eq!(read_bounded(b"abc", 6), (b"abc".to_vec(), false));
        assert_eq!(read_bounded(b"x", 0), (Vec::new(), true));
        assert_eq!(read_bounded(b"", 0), (Vec::new(), false));
    }
}
