//! Key files (`keys/<id>`): argon2id parameters and the master keys sealed with the password key.

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::crypto::kdf::{KdfError, KdfParams};
use crate::crypto::{self, MasterKeys};
use rand::RngCore;
use zeroize::Zeroizing;

/// The first 4 bytes of a key file.
pub const MAGIC: &[u8; 4] = b"BSKY";
/// The key file encoding version (the byte after the magic).
pub const VERSION: u8 = 1;
const KDF_ARGON2ID: u8 = 1;
const SEALED_LEN: usize = crypto::NONCE_LEN + 64 + crypto::TAG_LEN;

/// A decoded key file: how to derive the password key, who made it, and the sealed master keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    /// argon2id cost of deriving the password key.
    pub kdf: KdfParams,
    /// argon2id salt, random per key file.
    pub salt: [u8; 32],
    /// When the key was added, in Unix seconds.
    pub created: i64,
    /// Host that added the key (at most 255 bytes).
    pub host: String,
    /// User that added the key (at most 255 bytes).
    pub user: String,
    /// nonce || ciphertext || tag of enc || id.
    pub sealed: Vec<u8>,
}

/// Why a key file did not yield the master keys.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The password-derived key did not open the sealed keys.
    #[error("wrong password")]
    WrongPassword,
    /// The file's argon2id parameters are out of bounds.
    #[error("{0}")]
    Kdf(#[from] KdfError),
}

/// Why a key file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The argon2id parameters are out of bounds.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// Sealing the master keys failed.
    #[error(transparent)]
    Seal(#[from] crypto::CryptoError),
}

impl KeyFile {
    /// Wraps `keys` with a key derived from `password`.
    pub fn create(
        keys: &MasterKeys,
        password: &[u8],
        kdf: KdfParams,
        created: i64,
        host: &str,
        user: &str,
    ) -> Result<Self, CreateError> {
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let mut kf = KeyFile {
            kdf,
            salt,
            created,
            host: truncate(host),
            user: truncate(user),
            sealed: Vec::new(),
        };
        let pk = kdf.derive(password, &salt)?;
        let aad = kf.encode_unsealed();
        kf.sealed = crypto::seal(&pk, &aad, &keys.to_bytes()[..])?;
        Ok(kf)
    }

    /// Unwraps the master keys.
    pub fn open(&self, password: &[u8]) -> Result<MasterKeys, OpenError> {
        let pk = self.kdf.derive(password, &self.salt)?;
        let aad = self.encode_unsealed();
        let plain = Zeroizing::new(
            crypto::open(&pk, &aad, &self.sealed).map_err(|_| OpenError::WrongPassword)?,
        );
        let arr: &[u8; 64] = plain
            .as_slice()
            .try_into()
            .map_err(|_| OpenError::WrongPassword)?;
        Ok(MasterKeys::from_bytes(arr))
    }

    fn encode_unsealed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(KDF_ARGON2ID);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.kdf.m_cost.to_le_bytes());
        out.extend_from_slice(&self.kdf.t_cost.to_le_bytes());
        out.extend_from_slice(&self.kdf.p_cost.to_le_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.created.to_le_bytes());
        for s in [&self.host, &self.user] {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    /// The complete binary encoding (key files are not inside an envelope).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_unsealed();
        out.extend_from_slice(&self.sealed);
        out
    }

    /// Parses a key file, bounding its argon2id parameters before any derivation.
    pub fn decode(bytes: &[u8]) -> FormatResult<Self> {
        let mut r = Reader::new(bytes, "key file");
        if r.bytes(4)? != MAGIC {
            return Err(FormatError::BadMagic("key file"));
        }
        let v = r.u8()?;
        if v != VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "key file",
                found: v,
            });
        }
        let kdf_kind = r.u8()?;
        if kdf_kind != KDF_ARGON2ID {
            return Err(FormatError::Invalid(format!("key file kdf {kdf_kind}")));
        }
        if r.u16()? != 0 {
            return Err(FormatError::Invalid("key file reserved bytes".into()));
        }
        let kdf = KdfParams {
            m_cost: r.u32()?,
            t_cost: r.u32()?,
            p_cost: r.u32()?,
        };
        kdf.check()
            .map_err(|e| FormatError::Invalid(format!("key file: {e}")))?;
        let salt = r.array::<32>()?;
        let created = r.i64()?;
        let host = read_str(&mut r)?;
        let user = read_str(&mut r)?;
        let sealed = r.bytes(SEALED_LEN)?.to_vec();
        r.expect_end()?;
        Ok(KeyFile {
            kdf,
            salt,
            created,
            host,
            user,
            sealed,
        })
    }
}

fn truncate(s: &str) -> String {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn read_str(r: &mut Reader<'_>) -> FormatResult<String> {
    let n = r.u16()? as usize;
    if n > 255 {
        return Err(FormatError::Invalid(format!(
            "key file string of {n} bytes"
        )));
    }
    String::from_utf8(r.bytes(n)?.to_vec())
        .map_err(|_| FormatError::Invalid("key file string is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kdf::M_COST_MIN;
    use proptest::prelude::*;

    fn cheap() -> KdfParams {
        KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[test]
    fn create_open_round_trip() {
        let keys = MasterKeys::generate();
        let kf = KeyFile::create(&keys, b"secret", cheap(), 1700000000, "host", "user").unwrap();
        let dec = KeyFile::decode(&kf.encode()).unwrap();
        assert_eq!(dec, kf);
        let opened = dec.open(b"secret").unwrap();
        assert_eq!(opened.to_bytes()[..], keys.to_bytes()[..]);
        assert!(matches!(dec.open(b"wrong"), Err(OpenError::WrongPassword)));
    }

    #[test]
    fn hostile_memory_cost_is_refused_before_derivation() {
        let keys = MasterKeys::generate();
        let kf = KeyFile::create(&keys, b"pw", cheap(), 0, "h", "u").unwrap();
        let mut bytes = kf.encode();
        bytes[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(KeyFile::decode(&bytes).is_err());
    }

    #[test]
    fn altered_host_fails_to_open() {
        let keys = MasterKeys::generate();
        let kf = KeyFile::create(&keys, b"pw", cheap(), 0, "host", "u").unwrap();
        let mut bytes = kf.encode();
        bytes[62] = b'H';
        let dec = KeyFile::decode(&bytes).unwrap();
        assert!(dec.open(b"pw").is_err());
    }

    proptest! {
        #[test]
        fn encode_decode(host in "[a-z0-9.-]{0,40}", user in "\\PC{0,20}", created in any::<i64>(),
                         salt in any::<[u8; 32]>(), sealed in proptest::collection::vec(any::<u8>(), SEALED_LEN..=SEALED_LEN)) {
            let kf = KeyFile { kdf: cheap(), salt, created, host: truncate(&host), user: truncate(&user), sealed };
            prop_assert_eq!(KeyFile::decode(&kf.encode()).unwrap(), kf);
        }

        /// A damaged key file decodes or is refused, never panics; what decodes has exactly the
        /// damaged bytes as its encoding.
        #[test]
        fn damaged_key_files(host in "[a-z0-9.-]{0,40}", user in "\\PC{0,20}", created in any::<i64>(),
                             salt in any::<[u8; 32]>(), sealed in proptest::collection::vec(any::<u8>(), SEALED_LEN..=SEALED_LEN),
                             ops in crate::format::mutation::mutations()) {
            let kf = KeyFile { kdf: cheap(), salt, created, host: truncate(&host), user: truncate(&user), sealed };
            let damaged = crate::format::mutation::apply(&kf.encode(), &ops);
            if let Ok(decoded) = KeyFile::decode(&damaged) {
                prop_assert_eq!(decoded.encode(), damaged);
            }
        }
    }

    proptest! {
        // Each case derives a key (argon2 at the lowest cost) up to twice.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A damaged key file never opens with the password to other keys than it was made with:
        /// the unsealed prefix is the seal's associated data, so damage anywhere is refused.
        #[test]
        fn damaged_key_files_do_not_open(ops in crate::format::mutation::mutations()) {
            let keys = MasterKeys::generate();
            let kf = KeyFile::create(&keys, b"pw", cheap(), 1_700_000_000, "host", "user").unwrap();
            let damaged = crate::format::mutation::apply(&kf.encode(), &ops);
            if let Ok(decoded) = KeyFile::decode(&damaged) {
                if let Ok(opened) = decoded.open(b"pw") {
                    prop_assert_eq!(&damaged, &kf.encode(), "a damaged key file opened");
                    prop_assert_eq!(opened.to_bytes()[..].to_vec(), keys.to_bytes()[..].to_vec());
                }
            }
        }
    }
}
