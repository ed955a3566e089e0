//! Pack files: sealed blobs, padding, then the sealed header, then a 16-byte trailer (design.md §4).

use super::blob_entry::{BlobEntry, ENTRY_LEN, SEAL_OVERHEAD};
use super::envelope::{self, Kind};
use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::crypto::keys::SecretKey;
use rand::RngCore;

/// Bytes of the trailer at the end of a pack: header length (u32 LE), pack version, 3 zero bytes, `TRAILER_MAGIC`.
pub const TRAILER_LEN: usize = 16;
/// The last 8 bytes of every pack.
pub const TRAILER_MAGIC: &[u8; 8] = b"BSTKPACK";
/// The pack layout version in the trailer.
pub const PACK_VERSION: u8 = 1;
/// The header version written in repositories of config version 2: entries, then zeros up to
/// [`header_slots`] entries (and the data section padded, see [`finish`]).
pub const HEADER_VERSION: u8 = 2;
/// Headers of packs in repositories of config version 1: exactly N entries, so their length gives
/// N away. Such repositories keep getting them (and no data padding), so that the versions of
/// backstock that made them can still read every pack.
pub const HEADER_VERSION_UNPADDED: u8 = 1;
/// The most blobs a pack written now holds (a writer closes the pack there), so that a version 2
/// header, padded to a power of two of entries, stays within 48 MiB; readers refuse version 2
/// headers that list more. Packs of tiny blobs are the only ones that come near it.
pub const MAX_BLOBS: usize = 1 << 20;
/// The fewest entry slots a version 2 header has.
pub const MIN_HEADER_SLOTS: usize = 64;
/// Data sections shorter than this are padded up to it.
pub const MIN_PADDED_DATA: u64 = 4096;

/// Entry slots of a version 2 header holding `n` entries: `n` rounded up to a power of two, at
/// least [`MIN_HEADER_SLOTS`], so the sealed header's length tells N only within a factor of two.
pub fn header_slots(n: usize) -> usize {
    n.checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .max(MIN_HEADER_SLOTS)
}

/// Padmé (Nikitin et al., PoPETs 2019): `len` rounded up so that only its top
/// `floor(log2(floor(log2 len))) + 1` significant bits may be non-zero. Overhead at most 12%; a
/// length then leaks O(log log len) bits.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros());
    let s = 64 - u64::from(e.leading_zeros());
    let mask = (1u64 << (e - s)) - 1;
    (len + mask) & !mask
}

/// The length a pack's data section (the sealed blobs) is padded to.
pub fn padded_data_len(len: u64) -> u64 {
    padme(len.max(MIN_PADDED_DATA))
}

/// A version 2 header payload: the entries, then zeros up to [`header_slots`] entries.
pub fn encode_header(entries: &[BlobEntry]) -> Vec<u8> {
    let len = 5 + header_slots(entries.len()).saturating_mul(ENTRY_LEN);
    let mut out = Vec::with_capacity(len);
    out.push(HEADER_VERSION);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        e.encode(&mut out);
    }
    out.resize(len, 0);
    out
}

/// A version 1 header payload (no padding).
pub fn encode_header_unpadded(entries: &[BlobEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + entries.len() * ENTRY_LEN);
    out.push(HEADER_VERSION_UNPADDED);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        e.encode(&mut out);
    }
    out
}

/// Decodes a header payload of either version; `data_len` is the number of pack bytes before the
/// sealed header. Both versions have exactly one encoding of a list of entries.
pub fn decode_header(plain: &[u8], data_len: u64) -> FormatResult<Vec<BlobEntry>> {
    let mut r = Reader::new(plain, "pack header");
    let v = r.u8()?;
    if v != HEADER_VERSION && v != HEADER_VERSION_UNPADDED {
        return Err(FormatError::UnsupportedVersion {
            what: "pack header",
            found: v,
        });
    }
    let n = r.count(ENTRY_LEN)?;
    if v == HEADER_VERSION && n > MAX_BLOBS {
        return Err(FormatError::Invalid(format!(
            "pack header lists {n} blobs, more than the {MAX_BLOBS} a pack holds"
        )));
    }
    // Every blob takes at least SEAL_OVERHEAD bytes of the data section.
    if n as u64 * u64::from(SEAL_OVERHEAD) > data_len {
        return Err(FormatError::Invalid(format!(
            "pack header: {n} blobs cannot fit a data section of {data_len} bytes"
        )));
    }
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        entries.push(BlobEntry::decode(&mut r)?);
    }
    if v == HEADER_VERSION_UNPADDED {
        r.expect_end()?;
    } else {
        // Exactly the writer's padding, so every entry list has one encoding.
        let pad = header_slots(n).saturating_sub(n).saturating_mul(ENTRY_LEN);
        let rest = r.bytes(r.remaining())?;
        if rest.len() != pad || rest.iter().any(|&b| b != 0) {
            return Err(FormatError::Invalid(format!(
                "pack header: {} bytes of padding after {n} entries, expected {pad} zero bytes",
                rest.len()
            )));
        }
    }
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

/// The trailer of a pack whose sealed header is `header_len` bytes long.
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

/// Pads the sealed blobs in `data` to [`padded_data_len`] with random bytes (zeros would show the
/// storage where the blobs end), then appends the sealed header and trailer: a complete pack.
pub fn finish(
    key: &SecretKey,
    mut data: Vec<u8>,
    entries: &[BlobEntry],
    header_version: u8,
) -> Result<Vec<u8>, crate::crypto::CryptoError> {
    let payload = if header_version == HEADER_VERSION_UNPADDED {
        encode_header_unpadded(entries)
    } else {
        let end = data.len();
        let padded = usize::try_from(padded_data_len(end as u64)).unwrap_or(end);
        data.resize(padded, 0);
        rand::rngs::OsRng.fill_bytes(&mut data[end..]);
        encode_header(entries)
    };
    let header = envelope::seal(Kind::PackHeader, key, &payload, false)?;
    data.extend_from_slice(&header);
    data.extend_from_slice(&encode_trailer(header.len() as u32));
    Ok(data)
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
            prop_assert_eq!(enc.len(), 5 + header_slots(entries.len()) * ENTRY_LEN);
            prop_assert_eq!(decode_header(&enc, total).unwrap(), entries.clone());
            let old = encode_header_unpadded(&entries);
            prop_assert_eq!(decode_header(&old, total).unwrap(), entries);
        }

        #[test]
        fn pack_round_trip(entries in entries_strategy()) {
            let total: usize = entries.iter().map(|e| e.stored_len as usize).sum();
            let key = SecretKey::random();
            for v in [HEADER_VERSION, HEADER_VERSION_UNPADDED] {
                let pack = finish(&key, vec![0u8; total], &entries, v).unwrap();
                prop_assert_eq!(parse(&key, &pack).unwrap(), entries.clone());
            }
        }

        /// A damaged header payload (either version) decodes or is refused, never panics; what
        /// decodes has exactly the damaged bytes as its encoding.
        #[test]
        fn damaged_headers(entries in entries_strategy(), unpadded in any::<bool>(),
                           ops in crate::format::mutation::mutations()) {
            let total: u64 = entries.iter().map(|e| e.stored_len as u64).sum();
            let valid = if unpadded { encode_header_unpadded(&entries) } else { encode_header(&entries) };
            let damaged = crate::format::mutation::apply(&valid, &ops);
            if let Ok(decoded) = decode_header(&damaged, total) {
                let again = if damaged[0] == HEADER_VERSION_UNPADDED {
                    encode_header_unpadded(&decoded)
                } else {
                    encode_header(&decoded)
                };
                prop_assert_eq!(again, damaged);
            }
        }

        /// A damaged pack never parses to other entries than the ones it was written with: the
        /// header is sealed, so damage to it or to the trailer is refused, and damage to the data
        /// section leaves the entries as they were (each blob is sealed on its own).
        #[test]
        fn damaged_packs(entries in entries_strategy(), unpadded in any::<bool>(),
                         ops in crate::format::mutation::mutations()) {
            let total: usize = entries.iter().map(|e| e.stored_len as usize).sum();
            let key = SecretKey::random();
            let v = if unpadded { HEADER_VERSION_UNPADDED } else { HEADER_VERSION };
            let pack = finish(&key, vec![0u8; total], &entries, v).unwrap();
            let damaged = crate::format::mutation::apply(&pack, &ops);
            if let Ok(parsed) = parse(&key, &damaged) {
                prop_assert_eq!(parsed, entries);
            }
        }

        #[test]
        fn hostile_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_header(&bytes, 1 << 20);
            prop_assert!(parse(&SecretKey::random(), &bytes).is_err());
        }

        #[test]
        fn padme_bounds(len in 0u64..(1 << 40)) {
            let p = padme(len);
            prop_assert!(p >= len);
            prop_assert!((p - len) as f64 <= len as f64 * 0.12 + 1.0, "{len} -> {p}");
            prop_assert_eq!(padme(p), p);
        }
    }

    fn entry(offset: u32, stored_len: u32, id: u8) -> BlobEntry {
        BlobEntry {
            blob_type: BlobType::Data,
            compression: Compression::None,
            offset,
            stored_len,
            raw_len: stored_len - 40,
            id: BlobId([id; 32]),
        }
    }

    /// A pack of `n` blobs of `size` bytes each.
    fn pack_of(key: &SecretKey, n: usize, size: u32) -> Vec<u8> {
        let entries: Vec<BlobEntry> = (0..n)
            .map(|i| entry(i as u32 * size, size, i as u8))
            .collect();
        finish(key, vec![7u8; n * size as usize], &entries, HEADER_VERSION).unwrap()
    }

    fn header_len(pack: &[u8]) -> u32 {
        decode_trailer(&pack[pack.len() - TRAILER_LEN..], pack.len() as u64).unwrap()
    }

    /// The storage sees the pack's length and the sealed header's length (in the trailer); neither
    /// may give away how many blobs the pack holds within a power-of-two bucket.
    #[test]
    fn lengths_do_not_give_the_blob_count_away() {
        let key = SecretKey::random();
        // 1, 2 and 64 blobs in the same bytes of data: identical lengths.
        let one = pack_of(&key, 1, 64 * 100);
        let two = pack_of(&key, 2, 32 * 100);
        let many = pack_of(&key, 64, 100);
        for p in [&two, &many] {
            assert_eq!(header_len(p), header_len(&one));
            assert_eq!(p.len(), one.len());
        }
        assert_eq!(parse(&key, &many).unwrap().len(), 64);
        // 65 and 128 blobs share the next bucket.
        assert_eq!(
            header_len(&pack_of(&key, 65, 100)),
            header_len(&pack_of(&key, 128, 100))
        );
        assert!(header_len(&pack_of(&key, 129, 100)) > header_len(&pack_of(&key, 128, 100)));
    }

    /// The data section is padded to the Padmé length with random bytes, so data sizes that round to
    /// the same length give packs of the same size, and the padding cannot be told from ciphertext.
    #[test]
    fn data_section_is_padded_with_random_bytes() {
        let key = SecretKey::random();
        let a = pack_of(&key, 1, 96_300);
        let b = pack_of(&key, 1, 97_000);
        assert_eq!(a.len(), b.len());
        let data_len = a.len() - TRAILER_LEN - header_len(&a) as usize;
        assert_eq!(data_len as u64, padded_data_len(96_300));
        assert!(data_len > 97_000);
        let pad = &a[96_300..data_len];
        let zeros = pad.iter().filter(|&&x| x == 0).count();
        assert!(
            zeros < pad.len() / 16,
            "{zeros} of {} padding bytes are zero",
            pad.len()
        );
        let again = pack_of(&key, 1, 96_300);
        assert_ne!(&again[96_300..data_len], pad, "padding repeats");
        // A tiny pack is padded to the minimum.
        assert_eq!(
            pack_of(&key, 1, 41).len() - TRAILER_LEN - header_len(&pack_of(&key, 1, 41)) as usize,
            MIN_PADDED_DATA as usize
        );
    }

    #[test]
    fn padme_values() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(4096), 4096);
        assert_eq!(padme(4097), 4352);
        // A full 16 MiB pack of text blobs stays within the target.
        assert_eq!(padme((16 << 20) - 30_000), 16 << 20);
        assert_eq!(padme((16 << 20) + 1), (16 << 20) + (512 << 10));
    }

    /// Packs written before version 2 (unpadded header, blobs right up to the header) still read.
    #[test]
    fn version_1_packs_read() {
        let key = SecretKey::random();
        let entries = [entry(0, 100, 1), entry(100, 60, 2)];
        let mut pack = vec![5u8; 160];
        let header = envelope::seal(
            Kind::PackHeader,
            &key,
            &encode_header_unpadded(&entries),
            false,
        )
        .unwrap();
        assert_eq!(header.len(), envelope::OVERHEAD + 5 + 2 * ENTRY_LEN);
        pack.extend_from_slice(&header);
        pack.extend_from_slice(&encode_trailer(header.len() as u32));
        assert_eq!(parse(&key, &pack).unwrap(), entries);
        // Repositories of config version 1 keep getting exactly this layout: no padding anywhere.
        let written = finish(&key, vec![5u8; 160], &entries, HEADER_VERSION_UNPADDED).unwrap();
        assert_eq!(written.len(), pack.len());
        assert_eq!(written[..160], pack[..160]);
        assert_eq!(header_len(&written), header.len() as u32);
    }

    #[test]
    fn version_2_headers_list_at_most_max_blobs() {
        let n = MAX_BLOBS + 1;
        let mut enc = vec![0u8; 5 + n * ENTRY_LEN];
        enc[0] = HEADER_VERSION;
        enc[1..5].copy_from_slice(&(n as u32).to_le_bytes());
        let err = decode_header(&enc, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn bad_padding_and_impossible_counts_are_refused() {
        let entries = [entry(0, 100, 1)];
        let mut enc = encode_header(&entries);
        assert_eq!(decode_header(&enc, 100).unwrap(), entries);
        let last = enc.len() - 1;
        enc[last] = 1;
        assert!(decode_header(&enc, 100).is_err(), "non-zero padding");
        enc[last] = 0;
        enc.extend_from_slice(&[0; ENTRY_LEN]);
        assert!(
            decode_header(&enc, 100).is_err(),
            "more padding than the writer adds"
        );
        enc.truncate(enc.len() - 2 * ENTRY_LEN);
        assert!(
            decode_header(&enc, 100).is_err(),
            "less padding than the writer adds"
        );
        let mut old = encode_header_unpadded(&entries);
        old.push(0);
        assert!(
            decode_header(&old, 100).is_err(),
            "version 1 with trailing bytes"
        );
        // 64 slots of zeros claimed as 64 blobs: each needs 40 bytes of data.
        let mut claim = encode_header(&[]);
        claim[1..5].copy_from_slice(&64u32.to_le_bytes());
        assert!(matches!(
            decode_header(&claim, 64 * 40 - 1),
            Err(FormatError::Invalid(m)) if m.contains("cannot fit")
        ));
        let mut future = encode_header(&entries);
        future[0] = 3;
        assert!(matches!(
            decode_header(&future, 100),
            Err(FormatError::UnsupportedVersion {
                what: "pack header",
                found: 3
            })
        ));
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
