//! Tree blob decoder (design.md §6).
#![no_main]

use backstock::format::tree::{self, NodeKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(nodes) = tree::decode_blob(data) else {
        return;
    };
    let (stream, ends) = tree::encode_stream(&nodes);
    assert_eq!(ends.len(), nodes.len());
    assert_eq!(ends.last().copied().unwrap_or(0), stream.len());
    assert!(ends.windows(2).all(|w| w[0] < w[1]));
    let blob = tree::blob_from_stream_part(&stream);
    assert_eq!(blob, data, "tree blob re-encodes differently");
    assert_eq!(tree::decode_blob(&blob).as_ref(), Ok(&nodes));

    // Any split at node boundaries gives blobs that decode to the matching runs of nodes.
    if let Some(&mid) = ends.get(nodes.len() / 2) {
        let k = nodes.len() / 2 + 1;
        assert_eq!(tree::decode_blob(&tree::blob_from_stream_part(&stream[..mid])).as_ref(), Ok(&nodes[..k].to_vec()));
        assert_eq!(tree::decode_blob(&tree::blob_from_stream_part(&stream[mid..])).as_ref(), Ok(&nodes[k..].to_vec()));
    }

    tree::check_sorted(&nodes).unwrap();
    for n in &nodes {
        tree::check_name(&n.name).unwrap();
        assert!(n.mtime.nsec < 1_000_000_000 && n.ctime.nsec < 1_000_000_000);
        match n.kind {
            NodeKind::Symlink => assert!(n.content.is_empty() && n.size == 0),
            NodeKind::Dir => assert!(n.link_target.is_empty() && n.size == 0),
            NodeKind::File => assert!(n.link_target.is_empty()),
        }
    }
});
