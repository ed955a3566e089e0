//! The 46-byte blob entry shared by pack headers and index files.

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::ids::BlobId;

pub const ENTRY_LEN: usize = 46;
/// Largest plaintext blob a reader accepts.
pub const MAX_RAW_LEN: u32 = 256 << 20;
/// Nonce + tag around every sealed blob.
pub const SEAL_OVERHEAD: u32 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobType {
    Data = 0,
    Tree = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None = 0,
    Zstd = 1,
}

impl BlobType {
    pub fn from_u8(b: u8) -> FormatResult<Self> {
        match b {
            0 => Ok(BlobType::Data),
            1 => Ok(BlobType::Tree),
            _ => Err(FormatError::Invalid(format!("blob type {b}"))),
        }
    }
}

impl Compression {
    pub fn from_u8(b: u8) -> FormatResult<Self> {
        match b {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Zstd),
            _ => Err(FormatError::Invalid(format!("compression {b}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlobEntry {
    pub blob_type: BlobType,
    pub compression: Compression,
    pub offset: u32,
    pub stored_len: u32,
    pub raw_len: u32,
    pub id: BlobId,
}

impl BlobEntry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.blob_type as u8);
        out.push(self.compression as u8);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.stored_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.id.0);
    }

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
