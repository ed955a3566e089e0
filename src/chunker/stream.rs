//! Streams a reader through a chunker in large batches, with memory bounded by the buffer size.

use super::Chunker;
use std::io::{self, Read};
use std::ops::Range;

/// A batch: the buffer and the ranges of the complete chunks in it.
pub type Batch<'b> = (&'b [u8], Vec<Range<usize>>);

/// Reads `source` into a fixed buffer and yields batches of complete chunks.
pub struct StreamChunker<'c, R> {
    chunker: &'c Chunker,
    source: R,
    buf: Vec<u8>,
    /// Valid bytes in `buf`.
    filled: usize,
    /// Start of the bytes not yet returned.
    start: usize,
    eof: bool,
}

impl<'c, R: Read> StreamChunker<'c, R> {
    /// `prefix` holds bytes already read from the front of the source (the classification sample).
    pub fn new(chunker: &'c Chunker, source: R, prefix: &[u8], buf_size: usize) -> Self {
        let cap = buf_size
            .max(2 * chunker.sizes().max as usize)
            .max(prefix.len());
        let mut buf = vec![0u8; cap];
        buf[..prefix.len()].copy_from_slice(prefix);
        StreamChunker {
            chunker,
            source,
            buf,
            filled: prefix.len(),
            start: 0,
            eof: false,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        while !self.eof && self.filled < self.buf.len() {
            match self.source.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next batch: the buffer and the ranges of the complete chunks in it. `None` at the end.
    pub fn next_batch(&mut self) -> io::Result<Option<Batch<'_>>> {
        self.fill()?;
        if self.filled == 0 {
            return Ok(None);
        }
        let mut ranges = Vec::new();
        let mut pos = 0;
        while pos < self.filled {
            let n = self.chunker.cut(&self.buf[pos..self.filled]);
            // A chunk reaching the end of the buffer may be cut short by missing data.
            if pos + n == self.filled && !self.eof {
                break;
            }
            ranges.push(pos..pos + n);
            pos += n;
        }
        self.start = pos;
        Ok(Some((&self.buf[..self.filled], ranges)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunker::GearTable;
    use crate::format::config::{ChunkerSecret, Config};
    use crate::ids::RepoId;
    use proptest::prelude::*;
    use std::sync::Arc;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Streaming gives exactly the chunks of the whole buffer, whatever the read sizes.
        #[test]
        fn stream_equals_whole(len in 0usize..3_000_000, prefix in 0usize..70_000, seed in any::<u8>()) {
            let cfg = Config::new(RepoId([0; 32]), ChunkerSecret::from_bytes([42; 32]));
            let c = Chunker::new(Arc::new(GearTable::for_config(&cfg.chunker)), cfg.chunker.text);
            let mut data = vec![0u8; len];
            blake3::Hasher::new().update(&[seed]).finalize_xof().fill(&mut data);
            let whole: Vec<Vec<u8>> = c.chunks(&data).into_iter().map(|r| data[r].to_vec()).collect();
            let p = prefix.min(len);
            let mut s = StreamChunker::new(&c, &data[p..], &data[..p], 600_000);
            let mut streamed = Vec::new();
            while let Some((buf, ranges)) = s.next_batch().unwrap() {
                for r in ranges { streamed.push(buf[r].to_vec()); }
            }
            prop_assert_eq!(streamed, whole);
        }
    }
}
