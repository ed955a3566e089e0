//! Pack files: sealed blobs, then the sealed header, then a 16-byte trailer (design.md §4).

use super::blob_entry::{BlobEntry, ENTRY_LEN};
use super::envelope::{self, Kind};
use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::crypto::keys::SecretKey;

pub const TRAILER_LEN: usize = 16;
pub const TRAILER_MAGIC: &[u8; 8] = b"BSTKPACK";
pub const PACK_VERSION: u8 = 1;
pub const HEADER_VERSION: u8 = 1;

pub fn encode_header(entries: &[BlobEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + entries.len() * ENTRY_LEN);
    out.push(HEADER_VERSION);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        e.encode(&mut out);
    }
    out
}

/// Decodes a header payload; `data_len` is the number of pack bytes before the sealed header.
pub fn decode_header(plain: &[u8], data_len: u64) -> FormatResult<Vec<BlobEntry>> {
    let mut r = Reader::new(plain, "pack header");
    let v = r.u8()?;
    if v != HEADER_VERSION {
        return Err(FormatError::UnsupportedVersion {
            what: "pack header",
            found: v,
        });
    }
    let n = r.count(ENTRY_LEN)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        entries.push(BlobEntry::decode(&mut r)?);
    }
    r.expect_end()?;
    check_layout(&entries, data_len)?;
    Ok(entries)
}

/// Entries must not overlap and must lie within the first `data_len` bytes.
pub fn check_layout(entries: &[BlobEntry], data_len: u64) -> FormatResult<()> {
    let mut spans: Vec<(u64, u64)> = entries.iter().map(|e| (e.offset as u64, e.end())).collect();
    spans.sort_unstable();
    let mut prev_end = 0u64;
    for (start, end) in spans {
        if start < prev_end {
            return Err(FormatError::Invalid(
                "pack header: overlapping blobs".into(),
            ));
        }
        prev_end = end;
    }
    if prev_end > data_len {
        return Err(FormatError::Invalid(format!(
            "pack header: blobs extend to {prev_end}, past the data section of {data_len} bytes"
        )));
    }
    Ok(())
}

pub fn encode_trailer(header_len: u32) -> [u8; TRAILER_LEN] {
    let mut t = [0u8; TRAILER_LEN];
    t[..4].copy_from_slice(&header_len.to_le_bytes());
    t[4] = PACK_VERSION;
    t[8..].copy_from_slice(TRAILER_MAGIC);
    t
}

/// Returns the sealed header's length, checked against the pack's size.
pub fn decode_trailer(t: &[u8], pack_size: u64) -> FormatResult<u32> {
    let mut r = Reader::new(t, "pack trailer");
    let header_len = r.u32()?;
    let v = r.u8()?;
    let reserved = r.bytes(3)?;
    let magic = r.bytes(8)?;
    r.expect_end()?;
    if magic != TRAILER_MAGIC {
        return Err(FormatError::BadMagic("pack trailer"));
    }
    if v != PACK_VERSION {
        return Err(FormatError::UnsupportedVersion {
            what: "pack",
            found: v,
        });
    }
    if reserved != [0, 0, 0] {
        return Err(FormatError::Invalid("pack trailer reserved bytes".into()));
    }
    if (header_len as u64) < envelope::OVERHEAD as u64
        || header_len as u64 + TRAILER_LEN as u64 > pack_size
    {
        return Err(FormatError::Invalid(format!(
            "pack header length {header_len} does not fit a pack of {pack_size} bytes"
        )));
    }
    Ok(header_len)
}

/// Appends the sealed header and trailer to the sealed blobs in `data`, giving a complete pack.
pub fn finish(key: &SecretKey, mut data: Vec<u8>, entries: &[BlobEntry]) -> Vec<u8> {
    let header = envelope::seal(Kind::PackHeader, key, &encode_header(entries), false);
    data.extend_from_slice(&header);
    data.extend_from_slice(&encode_trailer(header.len() as u32));
    data
}

/// Decodes the blob list of a complete pack held in memory.
pub fn parse(key: &SecretKey, pack: &[u8]) -> FormatResult<Vec<BlobEntry>> {
    let size = pack.len() as u64;
    if pack.len() < TRAILER_LEN {
        return Err(FormatError::Truncated {
            what: "pack trailer",
            needed: TRAILER_LEN - pack.len(),
        });
    }
    let header_len = decode_trailer(&pack[pack.len() - TRAILER_LEN..], size)? as usize;
    let header_start = pack.len() - TRAILER_LEN - header_len;
    parse_header(
        key,
        &pack[header_start..pack.len() - TRAILER_LEN],
        header_start as u64,
    )
}

/// Decrypts and decodes a sealed header that starts at `header_start` in its pack.
pub fn parse_header(
    key: &SecretKey,
    sealed: &[u8],
    header_start: u64,
) -> FormatResult<Vec<BlobEntry>> {
    let plain = envelope::open(Kind::PackHeader, key, sealed)?;
    decode_header(&plain, header_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob_entry::{BlobType, Compression};
    use crate::ids::BlobId;
    use proptest::prelude::*;

    fn entries_strategy() -> impl Strategy<Value = Vec<BlobEntry>> {
        proptest::collection::vec(
            (
                any::<bool>(),
                any::<bool>(),
                40u32..5000,
                0u32..100_000,
                any::<[u8; 32]>(),
            ),
            0..50,
        )
        .prop_map(|v| {
            let mut off = 0u32;
            v.into_iter()
                .map(|(tree, z, stored, raw, id)| {
                    let e = BlobEntry {
                        blob_type: if tree { BlobType::Tree } else { BlobType::Data },
                        compression: if z {
                            Compression::Zstd
                        } else {
                            Compression::None
                        },
                        offset: off,
                        stored_len: stored,
                        raw_len: if z { raw } else { stored - 40 },
                        id: BlobId(id),
                    };
                    off += stored;
                    e
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn header_round_trip(entries in entries_strategy()) {
            let total: u64 = entries.iter().map(|e| e.stored_len as u64).sum();
            let enc = encode_header(&entries);
            prop_assert_eq!(decode_header(&enc, total).unwrap(), entries);
        }

        #[test]
        fn pack_round_trip(entries in entries_strategy()) {
            let total: usize = entries.iter().map(|e| e.stored_len as usize).sum();
            let key = SecretKey::random();
            let pack = finish(&key, vec![0u8; total], &entries);
            prop_assert_eq!(parse(&key, &pack).unwrap(), entries);
        }

        #[test]
        fn hostile_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_header(&bytes, 1 << 20);
            prop_assert!(parse(&SecretKey::random(), &bytes).is_err());
        }
    }

    #[test]
    fn overlapping_entries_are_refused() {
        let e = BlobEntry {
            blob_type: BlobType::Data,
            compression: Compression::None,
            offset: 0,
            stored_len: 100,
            raw_len: 60,
            id: BlobId([1; 32]),
        };
        let mut f = e;
        f.offset = 50;
        assert!(decode_header(&encode_header(&[e, f]), 1000).is_err());
        assert!(decode_header(&encode_header(&[e]), 99).is_err());
    }
}
