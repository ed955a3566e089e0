//! zstd compression with bounded decompression of untrusted input.

use std::io::Read;

/// Largest payload an envelope may decompress to.
pub const MAX_PAYLOAD: u64 = 1 << 30;

thread_local! {
    /// One compression context per thread and level: creating a context per blob costs more than
    /// compressing a small blob.
    static COMPRESSORS: std::cell::RefCell<Vec<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd-compresses `data` at `level`; if zstd fails (allocation), returns `data` uncompressed.
pub fn compress(data: &[u8], level: i32) -> Vec<u8> {
    // zstd only fails on allocation failure or invalid parameters; fall back to storing the data.
    let fallback = || zstd::bulk::compress(data, level).unwrap_or_else(|_| data.to_vec());
    COMPRESSORS
        .try_with(|cell| {
            let Ok(mut list) = cell.try_borrow_mut() else {
                return fallback();
            };
            if !list.iter().any(|(l, _)| *l == level) {
                match zstd::bulk::Compressor::new(level) {
                    Ok(c) => list.push((level, c)),
                    Err(_) => return fallback(),
                }
            }
            match list.iter_mut().find(|(l, _)| *l == level) {
                Some((_, c)) => c.compress(data).unwrap_or_else(|_| data.to_vec()),
                None => fallback(),
            }
        })
        .unwrap_or_else(|_| fallback())
}

/// Why compressed bytes could not be decompressed (they are damaged or hostile).
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// zstd refused the data.
    #[error("zstd: {0}")]
    Zstd(#[source] std::io::Error),
    /// The data decompressed to another length than its entry records.
    #[error("decompressed to {found} bytes, expected {expected}")]
    WrongLength {
        /// Bytes it decompressed to.
        found: usize,
        /// Bytes its entry records.
        expected: usize,
    },
    /// The data decompresses to more than the caller accepts.
    #[error("decompressed size exceeds {0} bytes")]
    TooLarge(u64),
}

/// Decompresses a blob whose plaintext length is known and at most `MAX_RAW_LEN`.
pub fn decompress_exact(data: &[u8], raw_len: usize) -> Result<Vec<u8>, DecompressError> {
    let out = DECOMPRESSOR
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                if slot.is_none() {
                    *slot = zstd::bulk::Decompressor::new().ok();
                }
                match slot.as_mut() {
                    Some(d) => d.decompress(data, raw_len),
                    None => zstd::bulk::decompress(data, raw_len),
                }
            }
            Err(_) => zstd::bulk::decompress(data, raw_len),
        })
        .unwrap_or_else(|_| zstd::bulk::decompress(data, raw_len))
        .map_err(DecompressError::Zstd)?;
    if out.len() != raw_len {
        return Err(DecompressError::WrongLength {
            found: out.len(),
            expected: raw_len,
        });
    }
    Ok(out)
}

/// Decompresses at most `limit` bytes; more is an error.
pub fn decompress_bounded(data: &[u8], limit: u64) -> Result<Vec<u8>, DecompressError> {
    let dec = zstd::stream::read::Decoder::new(data).map_err(DecompressError::Zstd)?;
    let mut out = Vec::new();
    dec.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(DecompressError::Zstd)?;
    if out.len() as u64 > limit {
        return Err(DecompressError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..8192)) {
            let c = compress(&data, 3);
            prop_assert_eq!(decompress_exact(&c, data.len()).unwrap(), data.clone());
            prop_assert_eq!(decompress_bounded(&c, 1 << 20).unwrap(), data);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decompress_exact(&data, 100);
            let _ = decompress_bounded(&data, 1000);
        }

        /// Damaged zstd frames (a valid one with bytes flipped, inserted, deleted or cut off) are
        /// decompressed or refused, never a panic, and never more than the bound.
        #[test]
        fn damaged_frames_are_an_error_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..4096),
                                                   repeat in 1usize..8,
                                                   ops in crate::format::mutation::mutations()) {
            let data = data.repeat(repeat);
            let damaged = crate::format::mutation::apply(&compress(&data, 3), &ops);
            if let Ok(out) = decompress_exact(&damaged, data.len()) {
                prop_assert_eq!(out.len(), data.len());
            }
            if let Ok(out) = decompress_bounded(&damaged, 1 << 16) {
                prop_assert!(out.len() <= 1 << 16);
            }
        }
    }

    #[test]
    fn bound_is_enforced() {
        let big = vec![0u8; 100_000];
        let c = compress(&big, 3);
        assert!(decompress_bounded(&c, 99_999).is_err());
        assert!(decompress_exact(&c, 10).is_err());
    }
}
