//! Snapshot payload (design.md §7): JSON inside a sealed envelope.

use super::{FormatError, FormatResult};
use crate::ids::{BlobId, SnapshotId};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unchanged: u64,
    pub dirs_new: u64,
    pub dirs_changed: u64,
    pub dirs_unchanged: u64,
    pub bytes_read: u64,
    pub bytes_processed: u64,
    pub bytes_added: u64,
    pub bytes_added_stored: u64,
    pub blobs_added: u64,
    pub files_failed: u64,
    pub started: Option<DateTime<FixedOffset>>,
    pub finished: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub time: DateTime<FixedOffset>,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    pub paths: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub tree: BlobId,
    #[serde(default)]
    pub parent: Option<SnapshotId>,
    #[serde(default)]
    pub program_version: String,
    #[serde(default)]
    pub summary: Summary,
}

impl Snapshot {
    /// The snapshot as JSON. Serializing plain data to a `Vec` does not fail, but should it, the
    /// error is returned rather than an empty snapshot written.
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> FormatResult<Self> {
        let s: Snapshot = serde_json::from_slice(bytes)
            .map_err(|e| FormatError::Invalid(format!("snapshot JSON: {e}")))?;
        if s.version != VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "snapshot",
                found: s.version.min(255) as u8,
            });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(host in "\\PC{0,20}", paths in proptest::collection::vec("\\PC{1,30}", 1..4),
                      tags in proptest::collection::vec("[a-z]{1,8}", 0..3), secs in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000,
                      tree in any::<[u8; 32]>(), files in any::<u64>()) {
            let time = FixedOffset::east_opt(3600).unwrap().timestamp_opt(secs, nanos).unwrap();
            let s = Snapshot { version: VERSION, time, hostname: host, username: "u".into(), paths, tags,
                tree: BlobId(tree), parent: None, program_version: "x".into(),
                summary: Summary { files_new: files, ..Default::default() } };
            prop_assert_eq!(Snapshot::decode(&s.encode().unwrap()).unwrap(), s);
        }

        /// A damaged snapshot decodes or is refused, never panics; what decodes encodes to itself.
        #[test]
        fn damaged_snapshots(host in "\\PC{0,20}", secs in 0i64..4_000_000_000, tree in any::<[u8; 32]>(),
                             files in any::<u64>(), ops in crate::format::mutation::mutations()) {
            let time = FixedOffset::east_opt(3600).unwrap().timestamp_opt(secs, 0).unwrap();
            let s = Snapshot { version: VERSION, time, hostname: host, username: "u".into(),
                paths: vec!["/data".into()], tags: vec!["t".into()], tree: BlobId(tree), parent: None,
                program_version: "x".into(), summary: Summary { files_new: files, ..Default::default() } };
            let damaged = crate::format::mutation::apply(&s.encode().unwrap(), &ops);
            if let Ok(decoded) = Snapshot::decode(&damaged) {
                prop_assert_eq!(Snapshot::decode(&decoded.encode().unwrap()).unwrap(), decoded);
            }
        }
    }
}
