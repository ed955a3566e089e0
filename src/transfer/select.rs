//! Which source snapshots a copy takes: those named (or all), narrowed by the host, tag and path
//! filters, less those the destination already has. A snapshot is recognised across repositories
//! by its origin ([`Snapshot::origin`]): its `original` if it is itself a copy, else its own ID.

use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::ids::SnapshotId;
use crate::repository::snapshots::{resolve_spec, SnapshotFilter};
use std::collections::HashMap;

/// The source snapshots to copy and those skipped as already copied, each oldest first.
#[derive(Debug, Default)]
pub(super) struct Selection {
    /// Not in the destination yet.
    pub copy: Vec<(SnapshotId, Snapshot)>,
    /// Selected, but the destination has a snapshot of the same origin.
    pub present: Vec<SnapshotId>,
}

/// Selects from `source` (oldest first, as `Repository::snapshots` returns it): the snapshots
/// `specs` name (`latest`, IDs or prefixes, resolved as everywhere, `latest` within `filter`), or
/// when none are named every snapshot `filter` matches. `dest_origins` are the origins of the
/// destination's snapshots.
pub(super) fn select(
    source: &[(SnapshotId, Snapshot)],
    specs: &[String],
    filter: &SnapshotFilter,
    dest_origins: &HashMap<SnapshotId, SnapshotId>,
) -> Result<Selection> {
    let mut chosen: Vec<&(SnapshotId, Snapshot)> = if specs.is_empty() {
        source.iter().filter(|(_, s)| filter.matches(s)).collect()
    } else {
        specs
            .iter()
            .map(|spec| resolve_spec(source, spec, filter))
            .collect::<Result<_>>()?
    };
    chosen.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
    chosen.dedup_by(|a, b| a.0 == b.0);
    let mut out = Selection::default();
    for (id, s) in chosen {
        if dest_origins.contains_key(&s.origin(*id)) {
            out.present.push(*id);
        } else {
            out.copy.push((*id, s.clone()));
        }
    }
    Ok(out)
}

/// The destination's snapshots by origin: origin -> the destination snapshot's ID.
pub(super) fn origins(dest: &[(SnapshotId, Snapshot)]) -> HashMap<SnapshotId, SnapshotId> {
    dest.iter().map(|(id, s)| (s.origin(*id), *id)).collect()
}

/// Each snapshot's origin: snapshot ID -> origin.
pub(super) fn origin_of(snapshots: &[(SnapshotId, Snapshot)]) -> HashMap<SnapshotId, SnapshotId> {
    snapshots
        .iter()
        .map(|(id, s)| (*id, s.origin(*id)))
        .collect()
}

/// The snapshot to write into the destination for the source snapshot `id`: the same snapshot with
/// `original` set to its origin and `parent` pointing at the destination's copy of the parent
/// (none when the destination has no copy of it; `source_origin` gives the origin of each source
/// snapshot, [`origin_of`]). Time, host, paths, tags and the backup's summary
/// stay; `program_version` names this build, which writes it.
pub(super) fn copied(
    id: SnapshotId,
    s: &Snapshot,
    tree: crate::ids::BlobId,
    dest_origins: &HashMap<SnapshotId, SnapshotId>,
    source_origin: &HashMap<SnapshotId, SnapshotId>,
) -> Snapshot {
    let parent = s
        .parent
        .map(|p| source_origin.get(&p).copied().unwrap_or(p))
        .and_then(|origin| dest_origins.get(&origin).copied());
    Snapshot {
        tree,
        parent,
        original: Some(s.origin(id)),
        program_version: format!("backstock {}", env!("CARGO_PKG_VERSION")),
        ..s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::ids::BlobId;
    use chrono::{FixedOffset, TimeZone};

    fn snap(secs: i64, host: &str, tag: &str) -> Snapshot {
        Snapshot {
            version: crate::format::snapshot::VERSION,
            time: FixedOffset::east_opt(0)
                .unwrap()
                .timestamp_opt(secs, 0)
                .unwrap(),
            hostname: host.into(),
            username: "u".into(),
            paths: vec!["/data".into()],
            tags: vec![tag.into()],
            tree: BlobId([secs as u8; 32]),
            parent: None,
            program_version: "old".into(),
            summary: Default::default(),
            original: None,
        }
    }

    fn id(n: u8) -> SnapshotId {
        SnapshotId([n; 32])
    }

    fn source() -> Vec<(SnapshotId, Snapshot)> {
        vec![
            (id(1), snap(10, "a", "daily")),
            (id(2), snap(20, "b", "daily")),
            (id(3), snap(30, "a", "weekly")),
        ]
    }

    fn ids(v: &[(SnapshotId, Snapshot)]) -> Vec<SnapshotId> {
        v.iter().map(|(i, _)| *i).collect()
    }

    #[test]
    fn filters_and_specs_select() {
        let none = HashMap::new();
        let all = select(&source(), &[], &SnapshotFilter::default(), &none).unwrap();
        assert_eq!(ids(&all.copy), vec![id(1), id(2), id(3)]);
        let host_a = SnapshotFilter {
            hosts: vec!["a".into()],
            ..Default::default()
        };
        let a = select(&source(), &[], &host_a, &none).unwrap();
        assert_eq!(ids(&a.copy), vec![id(1), id(3)]);
        let daily = SnapshotFilter {
            tags: vec!["daily".into()],
            ..Default::default()
        };
        let latest_daily = select(&source(), &["latest".into()], &daily, &none).unwrap();
        assert_eq!(ids(&latest_daily.copy), vec![id(2)]);
        // Named twice, and out of order: once, oldest first.
        let named = ["0303".to_string(), "0101".into(), id(3).to_hex()];
        let named = select(&source(), &named, &SnapshotFilter::default(), &none).unwrap();
        assert_eq!(ids(&named.copy), vec![id(1), id(3)]);
        let unknown = select(
            &source(),
            &["abcd".into()],
            &SnapshotFilter::default(),
            &none,
        );
        assert_eq!(unknown.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
    }

    /// A copy is recognised by its origin in both directions, and through a chain of copies.
    #[test]
    fn snapshots_of_the_same_origin_are_not_copied_again() {
        let mut dest_copy = snap(10, "a", "daily");
        dest_copy.original = Some(id(1));
        let dest = vec![(id(41), dest_copy)];
        let sel = select(&source(), &[], &SnapshotFilter::default(), &origins(&dest)).unwrap();
        assert_eq!(sel.present, vec![id(1)]);
        assert_eq!(ids(&sel.copy), vec![id(2), id(3)]);

        // Copying back: the source's copy of 41's origin (1) is already here as 1 itself.
        let mut back = snap(10, "a", "daily");
        back.original = Some(id(1));
        let from_b = vec![(id(41), back)];
        let sel = select(
            &from_b,
            &[],
            &SnapshotFilter::default(),
            &origins(&source()),
        )
        .unwrap();
        assert_eq!((sel.copy.len(), sel.present), (0, vec![id(41)]));
    }

    #[test]
    fn a_copy_records_its_origin_and_finds_its_parent_in_the_destination() {
        let mut child = snap(20, "a", "daily");
        child.parent = Some(id(1));
        let dest: HashMap<_, _> = [(id(1), id(41))].into();
        let c = copied(id(2), &child, BlobId([9; 32]), &dest, &HashMap::new());
        assert_eq!(c.original, Some(id(2)));
        assert_eq!(c.parent, Some(id(41)));
        assert_eq!(c.tree, BlobId([9; 32]));
        assert_eq!(
            (c.time, &c.hostname, &c.tags),
            (child.time, &child.hostname, &child.tags)
        );
        assert_ne!(c.program_version, "old");
        // A copy of a copy keeps the first origin; a parent the destination lacks is dropped.
        let mut again = c.clone();
        again.parent = Some(id(7));
        let c2 = copied(id(50), &again, again.tree, &HashMap::new(), &HashMap::new());
        assert_eq!((c2.original, c2.parent), (Some(id(2)), None));
        // A parent that is itself a copy in the source is found by its origin.
        let mut parent_copy = snap(5, "a", "daily");
        parent_copy.original = Some(id(1));
        let source = vec![(id(7), parent_copy)];
        let c3 = copied(id(50), &again, again.tree, &dest, &origin_of(&source));
        assert_eq!(c3.parent, Some(id(41)));
    }
}
