//! Index files: for every pack, the blobs it holds (design.md §5).

use super::blob_entry::{BlobEntry, ENTRY_LEN};
use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::ids::{IndexId, PackId, ID_LEN};

/// The index file encoding version (its first byte).
pub const VERSION: u8 = 1;

/// One pack as an index file lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackRecord {
    /// The pack's ID (the storage hash of its bytes, its file name).
    pub id: PackId,
    /// The pack file's size in bytes.
    pub size: u32,
    /// Every blob in the pack, in header order.
    pub blobs: Vec<BlobEntry>,
}

/// The decoded payload of an index file (design.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct IndexFile {
    /// Index files this one replaces; readers ignore those listed here.
    pub supersedes: Vec<IndexId>,
    /// The packs this file describes.
    pub packs: Vec<PackRecord>,
}

impl IndexFile {
    /// The binary encoding (little-endian counts), before sealing.
    pub fn encode(&self) -> Vec<u8> {
        let blobs: usize = self.packs.iter().map(|p| p.blobs.len()).sum();
        let mut out = Vec::with_capacity(
            9 + self.supersedes.len() * ID_LEN + self.packs.len() * 40 + blobs * ENTRY_LEN,
        );
        out.push(VERSION);
        out.extend_from_slice(&(self.supersedes.len() as u32).to_le_bytes());
        for s in &self.supersedes {
            out.extend_from_slice(&s.0);
        }
        out.extend_from_slice(&(self.packs.len() as u32).to_le_bytes());
        for p in &self.packs {
            out.extend_from_slice(&p.id.0);
            out.extend_from_slice(&p.size.to_le_bytes());
            out.extend_from_slice(&(p.blobs.len() as u32).to_le_bytes());
            for b in &p.blobs {
                b.encode(&mut out);
            }
        }
        out
    }

    /// Parses the binary encoding; other versions and malformed entries are errors.
    pub fn decode(bytes: &[u8]) -> FormatResult<Self> {
        let mut r = Reader::new(bytes, "index");
        let v = r.u8()?;
        if v != VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "index",
                found: v,
            });
        }
        let s = r.count(ID_LEN)?;
        let mut supersedes = Vec::with_capacity(s);
        for _ in 0..s {
            supersedes.push(IndexId(r.id()?));
        }
        let p = r.count(40)?;
        let mut packs = Vec::with_capacity(p);
        for _ in 0..p {
            let id = PackId(r.id()?);
            let size = r.u32()?;
            let b = r.count(ENTRY_LEN)?;
            let mut blobs = Vec::with_capacity(b);
            for _ in 0..b {
                blobs.push(BlobEntry::decode(&mut r)?);
            }
            super::pack::check_layout(&blobs, size as u64).map_err(|e| {
                FormatError::Invalid(format!("index entry for pack {}: {e}", id.short()))
            })?;
            packs.push(PackRecord { id, size, blobs });
        }
        r.expect_end()?;
        Ok(IndexFile { supersedes, packs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob_entry::{BlobType, Compression};
    use crate::ids::BlobId;
    use proptest::prelude::*;

    fn pack_strategy() -> impl Strategy<Value = PackRecord> {
        (
            any::<[u8; 32]>(),
            proptest::collection::vec((any::<[u8; 32]>(), 40u32..1000, any::<bool>()), 0..20),
        )
            .prop_map(|(id, blobs)| {
                let mut off = 0;
                let blobs: Vec<BlobEntry> = blobs
                    .into_iter()
                    .map(|(bid, len, tree)| {
                        let e = BlobEntry {
                            blob_type: if tree { BlobType::Tree } else { BlobType::Data },
                            compression: Compression::None,
                            offset: off,
                            stored_len: len,
                            raw_len: len - 40,
                            id: BlobId(bid),
                        };
                        off += len;
                        e
                    })
                    .collect();
                PackRecord {
                    id: PackId(id),
                    size: off + 200,
                    blobs,
                }
            })
    }

    proptest! {
        #[test]
        fn round_trip(sup in proptest::collection::vec(any::<[u8; 32]>(), 0..4), packs in proptest::collection::vec(pack_strategy(), 0..8)) {
            let idx = IndexFile { supersedes: sup.into_iter().map(IndexId).collect(), packs };
            prop_assert_eq!(IndexFile::decode(&idx.encode()).unwrap(), idx);
        }

        /// A damaged index payload decodes or is refused, never panics; what decodes has exactly
        /// the damaged bytes as its encoding.
        #[test]
        fn damaged_payloads(sup in proptest::collection::vec(any::<[u8; 32]>(), 0..3),
                            packs in proptest::collection::vec(pack_strategy(), 0..4),
                            ops in crate::format::mutation::mutations()) {
            let idx = IndexFile { supersedes: sup.into_iter().map(IndexId).collect(), packs };
            let damaged = crate::format::mutation::apply(&idx.encode(), &ops);
            if let Ok(decoded) = IndexFile::decode(&damaged) {
                prop_assert_eq!(decoded.encode(), damaged);
            }
        }
    }

    #[test]
    fn truncation_is_an_error() {
        let idx = IndexFile {
            supersedes: vec![],
            packs: vec![PackRecord {
                id: PackId([1; 32]),
                size: 1000,
                blobs: vec![],
            }],
        };
        let enc = idx.encode();
        for n in 0..enc.len() {
            assert!(IndexFile::decode(&enc[..n]).is_err());
        }
    }
}
