//! One ID type per kind of object. Every ID is 32 bytes, shown as 64 lower-case hex digits.

use std::fmt;
use std::str::FromStr;

/// Length of every ID in bytes.
pub const ID_LEN: usize = 32;

/// A string that is not a full 64-digit hex ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {input:?} is not a 64-digit hex {what}")]
pub struct ParseIdError {
    /// The string given.
    pub input: String,
    /// The ID type asked for (`BlobId`, `SnapshotId`, ...).
    pub what: &'static str,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; ID_LEN]);

        impl $name {
            /// The full 64-digit hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// The first 8 hex digits, for display.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
            /// Parses a full 64-digit hex ID.
            pub fn from_hex(s: &str) -> Result<Self, ParseIdError> {
                let mut out = [0u8; ID_LEN];
                hex::decode_to_slice(s, &mut out).map_err(|_| ParseIdError {
                    input: s.to_string(),
                    what: stringify!($name),
                })?;
                Ok(Self(out))
            }
            /// Reads an ID from the first 32 bytes of a slice (which must be at least that long).
            pub fn from_slice(b: &[u8]) -> Option<Self> {
                let arr: [u8; ID_LEN] = b.get(..ID_LEN)?.try_into().ok()?;
                Some(Self(arr))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// Keyed BLAKE3 of a blob's plaintext.
    BlobId
);
id_type!(
    /// Plain BLAKE3 of a pack file's bytes.
    PackId
);
id_type!(
    /// Plain BLAKE3 of an index file's bytes.
    IndexId
);
id_type!(
    /// Plain BLAKE3 of a snapshot file's bytes.
    SnapshotId
);
id_type!(
    /// Plain BLAKE3 of a key file's bytes.
    KeyId
);
id_type!(
    /// Random repository identifier from `config`.
    RepoId
);

/// Plain (unkeyed) BLAKE3 of stored bytes: the name of every repository file except `config`.
pub fn storage_hash(bytes: &[u8]) -> [u8; ID_LEN] {
    *blake3::hash(bytes).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = BlobId([7u8; 32]);
        assert_eq!(BlobId::from_hex(&id.to_hex()).unwrap(), id);
        assert_eq!(id.short(), "07070707");
        assert!(BlobId::from_hex("zz").is_err());
        assert!(BlobId::from_hex(&"0".repeat(63)).is_err());
    }
}
