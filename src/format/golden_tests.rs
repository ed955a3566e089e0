//! Golden byte vectors for the encodings stored before sealing: a pack header (both versions) and
//! trailer, an index payload, a tree blob and a key file's unsealed prefix. Each test encodes a
//! fixed value and compares it with the committed bytes, then decodes those bytes back to the value.
//! A failure here means the on-disk format changed: that needs a new format version, not new
//! vectors (design.md §12).

use super::blob_entry::{BlobEntry, BlobType, Compression};
use super::index::{IndexFile, PackRecord};
use super::keyfile::KeyFile;
use super::pack;
use super::tree::{self, Node, NodeKind, Timestamp};
use crate::crypto::kdf::KdfParams;
use crate::ids::{BlobId, IndexId, PackId};

/// The bytes of hex pieces (written apart so each field shows).
fn bytes(pieces: &[&str]) -> Vec<u8> {
    hex::decode(pieces.concat()).expect("golden hex")
}

fn entries() -> [BlobEntry; 2] {
    [
        BlobEntry {
            blob_type: BlobType::Data,
            compression: Compression::Zstd,
            offset: 0,
            stored_len: 100,
            raw_len: 200,
            id: BlobId([0xaa; 32]),
        },
        BlobEntry {
            blob_type: BlobType::Tree,
            compression: Compression::None,
            offset: 100,
            stored_len: 60,
            raw_len: 20,
            id: BlobId([0xbb; 32]),
        },
    ]
}

/// The two entries above: type, compression, offset, stored length, raw length (u32 LE), ID.
const ENTRIES: [&str; 12] = [
    "00",
    "01",
    "00000000",
    "64000000",
    "c8000000",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "01",
    "00",
    "64000000",
    "3c000000",
    "14000000",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
];

#[test]
fn pack_header_version_1() {
    let mut golden = bytes(&["01", "02000000"]); // version 1, two entries
    golden.extend(bytes(&ENTRIES));
    assert_eq!(
        hex::encode(pack::encode_header_unpadded(&entries())),
        hex::encode(&golden)
    );
    assert_eq!(pack::decode_header(&golden, 160).unwrap(), entries());
}

#[test]
fn pack_header_version_2() {
    let mut golden = bytes(&["02", "02000000"]); // version 2, two entries
    golden.extend(bytes(&ENTRIES));
    // Zeros up to 64 entry slots (the fewest a version 2 header has): 5 + 64 * 46 bytes.
    golden.resize(2949, 0);
    assert_eq!(
        hex::encode(pack::encode_header(&entries())),
        hex::encode(&golden)
    );
    assert_eq!(pack::decode_header(&golden, 160).unwrap(), entries());
}

#[test]
fn pack_trailer() {
    // Sealed header length 2989 (u32 LE), pack version 1, three reserved zeros, "BSTKPACK".
    let golden = bytes(&["ad0b0000", "01", "000000", "4253544b5041434b"]);
    assert_eq!(pack::encode_trailer(2989).to_vec(), golden);
    assert_eq!(pack::decode_trailer(&golden, 5000).unwrap(), 2989);
}

#[test]
fn index_payload() {
    let value = IndexFile {
        supersedes: vec![IndexId([0x22; 32])],
        packs: vec![PackRecord {
            id: PackId([0x33; 32]),
            size: 4096,
            blobs: entries().to_vec(),
        }],
    };
    let mut golden = bytes(&[
        "01",       // version
        "01000000", // one superseded index
        "2222222222222222222222222222222222222222222222222222222222222222",
        "01000000", // one pack
        "3333333333333333333333333333333333333333333333333333333333333333",
        "00100000", // its size
        "02000000", // two entries
    ]);
    golden.extend(bytes(&ENTRIES));
    assert_eq!(hex::encode(value.encode()), hex::encode(&golden));
    assert_eq!(IndexFile::decode(&golden).unwrap(), value);
}

#[test]
fn tree_blob() {
    let file = Node {
        name: b"a.txt".to_vec(),
        kind: NodeKind::File,
        mode: 0o644,
        uid: 1000,
        gid: 100,
        mtime: Timestamp {
            sec: 1_600_000_000,
            nsec: 5,
        },
        ctime: Timestamp {
            sec: 1_600_000_001,
            nsec: 0,
        },
        inode: 42,
        device: 7,
        size: 5,
        content: vec![BlobId([0xcc; 32])],
        link_target: vec![],
        rdev: 0,
        links: 0,
        xattrs: vec![],
    };
    let link = Node {
        name: b"b".to_vec(),
        kind: NodeKind::Symlink,
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: Timestamp {
            sec: -1,
            nsec: 999_999_999,
        },
        ctime: Timestamp::default(),
        inode: 0,
        device: 0,
        size: 0,
        content: vec![],
        link_target: b"a.txt".to_vec(),
        rdev: 0,
        links: 0,
        xattrs: vec![],
    };
    let golden = bytes(&[
        "01", // tree version
        // "a.txt": node length 106, kind file, mode 0o644, uid 1000, gid 100
        "6a000000",
        "01",
        "a4010000",
        "e8030000",
        "64000000",
        // mtime 1600000000 s + 5 ns, ctime 1600000001 s + 0 ns (i64 LE, u32 LE)
        "00105e5f00000000",
        "05000000",
        "01105e5f00000000",
        "00000000",
        // inode 42, device 7, size 5 (u64 LE)
        "2a00000000000000",
        "0700000000000000",
        "0500000000000000",
        // name (u16 length), one content ID (u32 count), no link target (u16 length)
        "0500",
        "612e747874",
        "01000000",
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "0000",
        // "b": node length 75, kind symlink, mode 0o777, uid 0, gid 0
        "4b000000",
        "03",
        "ff010000",
        "00000000",
        "00000000",
        // mtime -1 s + 999999999 ns, ctime 0
        "ffffffffffffffff",
        "ffc99a3b",
        "0000000000000000",
        "00000000",
        "0000000000000000",
        "0000000000000000",
        "0000000000000000",
        // name "b", no content, link target "a.txt"
        "0100",
        "62",
        "00000000",
        "0500",
        "612e747874",
    ]);
    let nodes = vec![file, link];
    assert_eq!(tree::version_for(&nodes), tree::VERSION_PLAIN);
    let (stream, ends) = tree::encode_stream(&nodes, tree::VERSION_PLAIN);
    assert_eq!(ends, [110, 189]);
    assert_eq!(
        hex::encode(tree::blob_from_stream_part(tree::VERSION_PLAIN, &stream)),
        hex::encode(&golden)
    );
    assert_eq!(tree::decode_blob(&golden).unwrap(), nodes);
}

/// Tree version 2: a FIFO with an extended attribute, and a character device.
#[test]
fn tree_blob_version_2() {
    let fifo = Node {
        name: b"p".to_vec(),
        kind: NodeKind::Fifo,
        mode: 0o640,
        uid: 0,
        gid: 0,
        mtime: Timestamp { sec: 1, nsec: 0 },
        ctime: Timestamp::default(),
        inode: 9,
        device: 7,
        size: 0,
        content: vec![],
        link_target: vec![],
        rdev: 0,
        links: 0,
        xattrs: vec![tree::Xattr {
            name: b"user.a".to_vec(),
            value: b"xy".to_vec(),
        }],
    };
    let dev = Node {
        name: b"tty".to_vec(),
        kind: NodeKind::CharDevice,
        mode: 0o620,
        uid: 0,
        gid: 5,
        mtime: Timestamp::default(),
        ctime: Timestamp::default(),
        inode: 0,
        device: 0,
        size: 0,
        content: vec![],
        link_target: vec![],
        rdev: 0x0500,
        links: 0,
        xattrs: vec![],
    };
    let golden = bytes(&[
        "02", // tree version 2
        // "p": node length 100, kind FIFO, mode 0o640, uid 0, gid 0
        "64000000",
        "04",
        "a0010000",
        "00000000",
        "00000000",
        // mtime 1 s, ctime 0
        "0100000000000000",
        "00000000",
        "0000000000000000",
        "00000000",
        // inode 9, device 7, size 0
        "0900000000000000",
        "0700000000000000",
        "0000000000000000",
        // name "p", no content, no link target
        "0100",
        "70",
        "00000000",
        "0000",
        // version 2: rdev 0, links 0, one attribute "user.a" = "xy"
        "0000000000000000",
        "00000000",
        "01000000",
        "0600",
        "757365722e61",
        "02000000",
        "7879",
        // "tty": node length 88, kind character device, mode 0o620, uid 0, gid 5
        "58000000",
        "06",
        "90010000",
        "00000000",
        "05000000",
        "0000000000000000",
        "00000000",
        "0000000000000000",
        "00000000",
        "0000000000000000",
        "0000000000000000",
        "0000000000000000",
        "0300",
        "747479",
        "00000000",
        "0000",
        // rdev 0x500 (major 5, minor 0), links 0, no attributes
        "0005000000000000",
        "00000000",
        "00000000",
    ]);
    let nodes = vec![fifo, dev];
    assert_eq!(tree::version_for(&nodes), tree::VERSION_EXTENDED);
    let (stream, _) = tree::encode_stream(&nodes, tree::VERSION_EXTENDED);
    assert_eq!(
        hex::encode(tree::blob_from_stream_part(tree::VERSION_EXTENDED, &stream)),
        hex::encode(&golden)
    );
    assert_eq!(tree::decode_blob(&golden).unwrap(), nodes);
}

#[test]
fn key_file_prefix() {
    let value = KeyFile {
        kdf: KdfParams {
            m_cost: 8192,
            t_cost: 3,
            p_cost: 1,
        },
        salt: [0x44; 32],
        created: 1_700_000_000,
        host: "h".into(),
        user: "u".into(),
        // Stands for nonce || sealed master keys || tag (104 bytes); only its length is checked.
        sealed: vec![0x5a; 104],
    };
    let golden = bytes(&[
        "42534b59", // "BSKY"
        "01",       // key file version
        "01",       // KDF argon2id
        "0000",     // reserved
        "00200000", "03000000", "01000000", // m_cost 8192 KiB, t_cost 3, p_cost 1
        "4444444444444444444444444444444444444444444444444444444444444444",
        "00f1536500000000", // created 1700000000 (i64 LE)
        "0100", "68", // host "h"
        "0100", "75", // user "u"
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
    ]);
    assert_eq!(hex::encode(value.encode()), hex::encode(&golden));
    assert_eq!(KeyFile::decode(&golden).unwrap(), value);
}
