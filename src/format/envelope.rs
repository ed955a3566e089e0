//! The sealed envelope around config, index, snapshot, pack header and lock payloads (design.md §2).

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::compress;
use crate::crypto::{self, keys::SecretKey};

/// The first 4 bytes of every envelope.
pub const MAGIC: &[u8; 4] = b"BSTK";
/// The envelope layout version (header byte 4).
pub const VERSION: u8 = 1;
/// Bytes of the unencrypted header: magic (4), version, kind, compression flag, one zero byte; it is the seal's associated data.
pub const HEADER_LEN: usize = 8;
/// Header + nonce + tag.
pub const OVERHEAD: usize = HEADER_LEN + crypto::NONCE_LEN + crypto::TAG_LEN;

/// What an envelope holds (header byte 5); opening checks it, so one kind cannot pass for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The repository config.
    Config = 1,
    /// An index file.
    Index = 2,
    /// A snapshot.
    Snapshot = 3,
    /// A pack's header (its blob entries).
    PackHeader = 4,
    /// A lock file's contents.
    Lock = 5,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Index => "index",
            Kind::Snapshot => "snapshot",
            Kind::PackHeader => "pack header",
            Kind::Lock => "lock",
        }
    }
}

/// Seals `payload`; compresses it with zstd first when `compress` is set and it helps.
pub fn seal(
    kind: Kind,
    key: &SecretKey,
    payload: &[u8],
    compress: bool,
) -> Result<Vec<u8>, crypto::CryptoError> {
    let compressed = if compress {
        let c = compress::compress(payload, 3);
        (c.len() < payload.len()).then_some(c)
    } else {
        None
    };
    let (flag, body) = match &compressed {
        Some(c) => (1u8, c.as_slice()),
        None => (0u8, payload),
    };
    let header = [
        MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, kind as u8, flag, 0,
    ];
    let mut out = Vec::with_capacity(body.len() + OVERHEAD);
    out.extend_from_slice(&header);
    crypto::seal::seal_into(key, &header, body, &mut out)?;
    Ok(out)
}

/// Checks the header, decrypts and decompresses. Errors name the expected kind.
pub fn open(kind: Kind, key: &SecretKey, bytes: &[u8]) -> FormatResult<Vec<u8>> {
    let mut r = Reader::new(bytes, kind.name());
    let header = r.bytes(HEADER_LEN)?;
    if &header[..4] != MAGIC {
        return Err(FormatError::BadMagic(kind.name()));
    }
    if header[4] != VERSION {
        return Err(FormatError::UnsupportedVersion {
            what: "envelope",
            found: header[4],
        });
    }
    if header[5] != kind as u8 {
        return Err(FormatError::Invalid(format!(
            "expected a {} envelope, found kind {}",
            kind.name(),
            header[5]
        )));
    }
    let flag = header[6];
    if flag > 1 || header[7] != 0 {
        return Err(FormatError::Invalid(format!(
            "{} envelope flags {flag}/{}",
            kind.name(),
            header[7]
        )));
    }
    let body = crypto::open(key, header, &bytes[HEADER_LEN..])
        .map_err(|e| FormatError::Invalid(format!("{} cannot be decrypted: {e}", kind.name())))?;
    if flag == 1 {
        compress::decompress_bounded(&body, compress::MAX_PAYLOAD)
            .map_err(|e| FormatError::Invalid(format!("{} payload: {e}", kind.name())))
    } else {
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(payload in proptest::collection::vec(any::<u8>(), 0..4096), z in any::<bool>()) {
            let k = SecretKey::random();
            let s = seal(Kind::Index, &k, &payload, z).unwrap();
            prop_assert_eq!(open(Kind::Index, &k, &s).unwrap(), payload);
        }

        #[test]
        fn hostile_bytes_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let k = SecretKey::random();
            prop_assert!(open(Kind::Snapshot, &k, &bytes).is_err());
        }
    }

    #[test]
    fn kind_is_checked() {
        let k = SecretKey::random();
        let s = seal(Kind::Index, &k, b"x", false).unwrap();
        assert!(open(Kind::Snapshot, &k, &s).is_err());
        let mut t = s.clone();
        t[5] = Kind::Snapshot as u8; // header is authenticated too
        assert!(open(Kind::Snapshot, &k, &t).is_err());
    }
}
