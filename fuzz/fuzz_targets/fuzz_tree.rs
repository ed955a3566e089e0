//! Tree blob decoder (design.md §6), versions 1 and 2.
#![no_main]

use backstock::format::tree::{self, NodeKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(nodes) = tree::decode_blob(data) else {
        return;
    };
    // What decodes re-encodes to the same bytes in the version it names.
    let v = data[0];
    let (stream, ends) = tree::encode_stream(&nodes, v);
    assert_eq!(ends.len(), nodes.len());
    assert_eq!(ends.last().copied().unwrap_or(0), stream.len());
    assert!(ends.windows(2).all(|w| w[0] < w[1]));
    let blob = tree::blob_from_stream_part(v, &stream);
    assert_eq!(blob, data, "tree blob re-encodes differently");
    assert_eq!(tree::decode_blob(&blob).as_ref(), Ok(&nodes));
    // A version 1 blob never holds what needs version 2.
    if v == tree::VERSION_PLAIN {
        assert_eq!(tree::version_for(&nodes), tree::VERSION_PLAIN);
    }

    // Any split at node boundaries gives blobs that decode to the matching runs of nodes.
    if let Some(&mid) = ends.get(nodes.len() / 2) {
        let k = nodes.len() / 2 + 1;
        let part = |r: std::ops::Range<usize>| tree::decode_blob(&tree::blob_from_stream_part(v, &stream[r]));
        assert_eq!(part(0..mid).as_ref(), Ok(&nodes[..k].to_vec()));
        assert_eq!(part(mid..stream.len()).as_ref(), Ok(&nodes[k..].to_vec()));
    }

    tree::check_sorted(&nodes).unwrap();
    for n in &nodes {
        tree::check_name(&n.name).unwrap();
        assert!(n.mtime.nsec < 1_000_000_000 && n.ctime.nsec < 1_000_000_000);
        assert!(n.xattrs.windows(2).all(|w| w[0].name < w[1].name));
        match n.kind {
            NodeKind::Symlink => assert!(n.content.is_empty() && n.size == 0),
            NodeKind::Dir => assert!(n.link_target.is_empty() && n.size == 0 && n.links == 0),
            NodeKind::File => assert!(n.link_target.is_empty() && n.rdev == 0),
            _ => assert!(n.content.is_empty() && n.size == 0 && n.link_target.is_empty()),
        }
    }
});
