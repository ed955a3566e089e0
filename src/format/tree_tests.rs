//! Tree encoding tests; `node_strategy` is shared with other modules' property tests.

use super::*;
use proptest::prelude::*;

const KINDS: [NodeKind; 7] = [
    NodeKind::File,
    NodeKind::Dir,
    NodeKind::Symlink,
    NodeKind::Fifo,
    NodeKind::Socket,
    NodeKind::CharDevice,
    NodeKind::BlockDevice,
];

fn xattrs_strategy() -> impl Strategy<Value = Vec<Xattr>> {
    proptest::collection::btree_map(
        proptest::collection::vec(1u8..=255, 1..20),
        proptest::collection::vec(any::<u8>(), 0..30),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(name, value)| Xattr { name, value })
            .collect()
    })
}

/// Arbitrary valid nodes of every type, plain and extended, for property tests.
pub fn node_strategy() -> impl Strategy<Value = Node> {
    (
        (
            proptest::collection::vec(1u8..=255, 1..40)
                .prop_filter("valid name", |n| check_name(n).is_ok()),
            0u8..7,
            any::<bool>(),
        ),
        any::<(u32, u32, u32)>(),
        any::<(i64, i64, u64, u64)>(),
        0u32..1_000_000_000,
        (any::<u64>(), any::<u64>(), any::<u32>()),
        proptest::collection::vec(any::<[u8; 32]>(), 0..5),
        proptest::collection::vec(any::<u8>(), 1..60),
        xattrs_strategy(),
    )
        .prop_map(
            |(
                (name, k, plain),
                (mode, uid, gid),
                (ms, cs, inode, device),
                nsec,
                (size, rdev, links),
                ids,
                target,
                xattrs,
            )| {
                // Half the nodes of the first three types stay plain (tree version 1).
                let kind = KINDS[if plain { k % 3 } else { k } as usize];
                let has_content = matches!(kind, NodeKind::File | NodeKind::Dir);
                Node {
                    name,
                    kind,
                    mode,
                    uid,
                    gid,
                    mtime: Timestamp { sec: ms, nsec },
                    ctime: Timestamp {
                        sec: cs,
                        nsec: nsec / 2,
                    },
                    inode,
                    device,
                    size: if kind == NodeKind::File { size } else { 0 },
                    content: if has_content {
                        ids.into_iter().map(BlobId).collect()
                    } else {
                        vec![]
                    },
                    link_target: if kind == NodeKind::Symlink {
                        target
                    } else {
                        vec![]
                    },
                    rdev: if kind.is_device() && !plain { rdev } else { 0 },
                    links: if kind == NodeKind::File && !plain {
                        links
                    } else {
                        0
                    },
                    xattrs: if plain { vec![] } else { xattrs },
                }
            },
        )
}

fn sorted(mut nodes: Vec<Node>) -> Vec<Node> {
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    nodes.dedup_by(|a, b| a.name == b.name);
    nodes
}

proptest! {
    #[test]
    fn round_trip(nodes in proptest::collection::vec(node_strategy(), 0..20)) {
        let nodes = sorted(nodes);
        let version = version_for(&nodes);
        let (stream, ends) = encode_stream(&nodes, version);
        prop_assert_eq!(ends.last().copied().unwrap_or(0), stream.len());
        let blob = blob_from_stream_part(version, &stream);
        prop_assert_eq!(decode_blob(&blob).unwrap(), nodes);
    }

    /// A damaged tree blob decodes or is refused, never panics; what decodes has exactly the
    /// damaged bytes as its encoding in the version it names (one encoding per version).
    #[test]
    fn damaged_blobs(nodes in proptest::collection::vec(node_strategy(), 0..8),
                     ops in crate::format::mutation::mutations()) {
        let nodes = sorted(nodes);
        let version = version_for(&nodes);
        let blob = blob_from_stream_part(version, &encode_stream(&nodes, version).0);
        let damaged = crate::format::mutation::apply(&blob, &ops);
        if let Ok(decoded) = decode_blob(&damaged) {
            let v = damaged[0];
            prop_assert_eq!(blob_from_stream_part(v, &encode_stream(&decoded, v).0), damaged);
        }
    }
}

#[test]
fn bad_names_are_refused() {
    for n in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
        assert!(check_name(n).is_err());
    }
}

fn fifo() -> Node {
    Node {
        name: b"p".to_vec(),
        kind: NodeKind::Fifo,
        mode: 0o600,
        uid: 0,
        gid: 0,
        mtime: Timestamp::default(),
        ctime: Timestamp::default(),
        inode: 1,
        device: 1,
        size: 0,
        content: vec![],
        link_target: vec![],
        rdev: 0,
        links: 0,
        xattrs: vec![],
    }
}

#[test]
fn version_1_refuses_the_new_types_and_fields_are_checked() {
    // A FIFO written as version 1 (as a bug would) is refused, not read as something else.
    let mut v1 = vec![VERSION_PLAIN];
    fifo().encode(&mut v1, VERSION_PLAIN);
    assert!(decode_blob(&v1)
        .unwrap_err()
        .to_string()
        .contains("node type 4"));
    let mut v2 = vec![VERSION_EXTENDED];
    fifo().encode(&mut v2, VERSION_EXTENDED);
    assert_eq!(decode_blob(&v2).unwrap(), vec![fifo()]);

    let bad = |f: &dyn Fn(&mut Node), why: &str| {
        let mut n = fifo();
        f(&mut n);
        let e = n.check().unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    };
    bad(&|n| n.rdev = 5, "device number");
    bad(&|n| n.links = 2, "link count");
    bad(&|n| n.content = vec![BlobId([1; 32])], "content");
    let x = |name: &[u8]| Xattr {
        name: name.to_vec(),
        value: vec![],
    };
    bad(&|n| n.xattrs = vec![x(b"")], "attribute name");
    bad(&|n| n.xattrs = vec![x(b"user.a\0")], "attribute name");
    bad(&|n| n.xattrs = vec![x(&[b'a'; 256])], "attribute name");
    bad(
        &|n| n.xattrs = vec![x(b"user.b"), x(b"user.a")],
        "out of order",
    );
    bad(
        &|n| n.xattrs = vec![x(b"user.a"), x(b"user.a")],
        "out of order",
    );
    bad(
        &|n| {
            n.xattrs = vec![Xattr {
                name: b"user.a".to_vec(),
                value: vec![0; MAX_XATTR_VALUE + 1],
            }]
        },
        "64 KiB",
    );
}

#[test]
fn a_plain_directory_stays_version_1() {
    let mut file = fifo();
    file.kind = NodeKind::File;
    assert_eq!(version_for(&[file.clone()]), VERSION_PLAIN);
    file.links = 2;
    assert_eq!(version_for(&[file]), VERSION_EXTENDED);
    assert_eq!(version_for(&[fifo()]), VERSION_EXTENDED);
}
