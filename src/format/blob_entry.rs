//! The 46-byte blob entry shared by pack headers and index files.

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::ids::BlobId;

/// Bytes of an encoded entry: type (1), compression (1), offset, stored and raw length (4 each, little-endian), ID (32).
pub const ENTRY_LEN: usize = 46;
/// Largest plaintext blob a reader accepts.
pub const MAX_RAW_LEN: u32 = 256 << 20;
/// Nonce + tag around every sealed blob.
pub const SEAL_OVERHEAD: u32 = 40;

/// What a blob holds; the number is its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobType {
    /// A chunk of file content.
    Data = 0,
    /// A chunk of an encoded tree (a directory's entries).
    Tree = 1,
}

/// How a blob's plaintext was stored; the number is its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as is: the raw length is the stored length minus `SEAL_OVERHEAD`.
    None = 0,
    /// zstd-compressed before sealing.
    Zstd = 1,
}

impl BlobType {
    /// Decodes the type byte; other values are `FormatError::Invalid`.
    pub fn from_u8(b: u8) -> FormatResult<Self> {
        match b {
            0 => Ok(BlobType::Data),
            1 => Ok(BlobType::Tree),
            _ => Err(FormatError::Invalid(format!("blob type {b}"))),
        }
    }
}

impl Compression {
    /// Decodes the compression byte; other values are `FormatError::Invalid`.
    pub fn from_u8(b: u8) -> FormatResult<Self> {
        match b {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Zstd),
            _ => Err(FormatError::Invalid(format!("compression {b}"))),
        }
    }
}

/// Where one blob lies in its pack and how to open it (46 bytes encoded, `ENTRY_LEN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlobEntry {
    /// Data or tree.
    pub blob_type: BlobType,
    /// Whether the plaintext was zstd-compressed before sealing.
    pub compression: Compression,
    /// Byte offset of the sealed blob in its pack file.
    pub offset: u32,
    /// Bytes of the sealed blob in the pack (at least `SEAL_OVERHEAD`).
    pub stored_len: u32,
    /// Bytes of the plaintext (at most `MAX_RAW_LEN`).
    pub raw_len: u32,
    /// The blob's ID: keyed BLAKE3 of its plaintext.
    pub id: BlobId,
}

impl BlobEntry {
    /// Appends the 46-byte encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.blob_type as u8);
        out.push(self.compression as u8);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.stored_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.id.0);
    }

    /// Reads one entry, rejecting lengths the seal and `MAX_RAW_LEN` rule out.
    pub fn decode(r: &mut Reader<'_>) -> FormatResult<Self> {
        let blob_type = BlobType::from_u8(r.u8()?)?;
        let compression = Compression::from_u8(r.u8()?)?;
        let offset = r.u32()?;
        let stored_len = r.u32()?;
        let raw_len = r.u32()?;
        let id = BlobId(r.id()?);
        if stored_len < SEAL_OVERHEAD {
            return Err(FormatError::Invalid(format!(
                "blob {} stored length {stored_len} is below the seal overhead",
                id.short()
            )));
        }
        if raw_len > MAX_RAW_LEN {
            return Err(FormatError::Invalid(format!(
                "blob {} raw length {raw_len} exceeds {MAX_RAW_LEN}",
                id.short()
            )));
        }
        if compression == Compression::None && raw_len != stored_len - SEAL_OVERHEAD {
            return Err(FormatError::Invalid(format!(
                "uncompressed blob {} has raw length {raw_len} but stored length {stored_len}",
                id.short()
            )));
        }
        Ok(BlobEntry {
            blob_type,
            compression,
            offset,
            stored_len,
            raw_len,
            id,
        })
    }

    /// End offset of the sealed blob in its pack.
    pub fn end(&self) -> u64 {
        self.offset as u64 + self.stored_len as u64
    }
}

/// Associated data for a sealed blob.
pub fn blob_aad(t: BlobType, c: Compression) -> [u8; 2] {
    [t as u8, c as u8]
}
