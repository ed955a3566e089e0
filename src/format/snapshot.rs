//! Snapshot payload (design.md §7): JSON inside a sealed envelope.

use super::{FormatError, FormatResult};
use crate::ids::{BlobId, SnapshotId};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The snapshot JSON version this build writes and reads.
pub const VERSION: u32 = 1;

/// Counts from the backup that made a snapshot (fields missing in older snapshots read as zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Files not in the parent snapshot.
    pub files_new: u64,
    /// Files in the parent whose content changed.
    pub files_changed: u64,
    /// Files whose content matched the parent's.
    pub files_unchanged: u64,
    /// Directories not in the parent snapshot.
    pub dirs_new: u64,
    /// Directories whose tree changed.
    pub dirs_changed: u64,
    /// Directories whose tree matched the parent's.
    pub dirs_unchanged: u64,
    /// Bytes of file content actually read (unchanged files are skipped).
    pub bytes_read: u64,
    /// Bytes of file content covered, read or reused from the parent.
    pub bytes_processed: u64,
    /// Plaintext bytes of the blobs this backup added.
    pub bytes_added: u64,
    /// Bytes the added blobs take in packs (compressed and sealed).
    pub bytes_added_stored: u64,
    /// Blobs (data and tree) this backup added.
    pub blobs_added: u64,
    /// Entries that could not be backed up and were left out.
    pub files_failed: u64,
    /// When the backup started.
    pub started: Option<DateTime<FixedOffset>>,
    /// When the backup finished.
    pub finished: Option<DateTime<FixedOffset>>,
}

/// A snapshot (design.md §7): one backup's root tree and what it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always `VERSION`.
    pub version: u32,
    /// The snapshot's time (the backup's start unless given), with the offset it was taken at.
    pub time: DateTime<FixedOffset>,
    /// Host the backup ran on.
    #[serde(default)]
    pub hostname: String,
    /// User the backup ran as.
    #[serde(default)]
    pub username: String,
    /// The paths backed up.
    pub paths: Vec<String>,
    /// Labels given with `--tag` (and `repaired` by repair).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The root tree blob.
    pub tree: BlobId,
    /// The snapshot whose file metadata this backup compared with, if any.
    #[serde(default)]
    pub parent: Option<SnapshotId>,
    /// The backstock version that wrote it.
    #[serde(default)]
    pub program_version: String,
    /// Counts from the backup.
    #[serde(default)]
    pub summary: Summary,
    /// For a snapshot written by `copy`: the snapshot it is a copy of (that snapshot's own
    /// `original` when it was a copy too), so that a copy is recognised in either repository.
    /// Absent in snapshots that `backup` wrote, and in every snapshot written before `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<SnapshotId>,
}

impl Snapshot {
    /// The snapshot as JSON. Serializing plain data to a `Vec` does not fail, but should it, the
    /// error is returned rather than an empty snapshot written.
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The snapshot this one stands for when snapshots are compared across repositories: its
    /// `original` if it is a copy, else `id`, its own ID. Two snapshots with the same origin are
    /// the same backup.
    pub fn origin(&self, id: SnapshotId) -> SnapshotId {
        self.original.unwrap_or(id)
    }

    /// Parses snapshot JSON, rejecting other versions.
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
                summary: Summary { files_new: files, ..Default::default() },
                original: (files % 2 == 0).then_some(SnapshotId(tree)) };
            prop_assert_eq!(Snapshot::decode(&s.encode().unwrap()).unwrap(), s);
        }

        /// A damaged snapshot decodes or is refused, never panics; what decodes encodes to itself.
        #[test]
        fn damaged_snapshots(host in "\\PC{0,20}", secs in 0i64..4_000_000_000, tree in any::<[u8; 32]>(),
                             files in any::<u64>(), ops in crate::format::mutation::mutations()) {
            let time = FixedOffset::east_opt(3600).unwrap().timestamp_opt(secs, 0).unwrap();
            let s = Snapshot { version: VERSION, time, hostname: host, username: "u".into(),
                paths: vec!["/data".into()], tags: vec!["t".into()], tree: BlobId(tree), parent: None,
                program_version: "x".into(), summary: Summary { files_new: files, ..Default::default() },
                original: None };
            let damaged = crate::format::mutation::apply(&s.encode().unwrap(), &ops);
            if let Ok(decoded) = Snapshot::decode(&damaged) {
                prop_assert_eq!(Snapshot::decode(&decoded.encode().unwrap()).unwrap(), decoded);
            }
        }
    }

    /// A snapshot without `original` (every snapshot before `copy`) reads as not a copy, and
    /// encodes without the field, so its bytes do not change; one with it keeps it.
    #[test]
    fn original_is_optional_and_round_trips() {
        let old = br#"{"version":1,"time":"2026-01-01T00:00:00Z","paths":["/x"],"tree":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let s = Snapshot::decode(old).unwrap();
        assert_eq!(s.original, None);
        assert!(!String::from_utf8(s.encode().unwrap())
            .unwrap()
            .contains("original"));
        let me = SnapshotId([7; 32]);
        assert_eq!(s.origin(me), me);
        let copy = Snapshot {
            original: Some(SnapshotId([9; 32])),
            ..s
        };
        let json = String::from_utf8(copy.encode().unwrap()).unwrap();
        assert!(
            json.contains(&format!("\"original\":\"{}\"", "09".repeat(32))),
            "{json}"
        );
        let back = Snapshot::decode(json.as_bytes()).unwrap();
        assert_eq!(back.origin(me), SnapshotId([9; 32]));
    }
}
