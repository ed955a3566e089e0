//! Index file payload decoder (design.md §5).
#![no_main]

use backstock::format::index::IndexFile;
use backstock::format::pack;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(idx) = IndexFile::decode(data) else {
        return;
    };
    let enc = idx.encode();
    assert_eq!(enc, data, "index re-encodes differently");
    assert_eq!(IndexFile::decode(&enc).as_ref(), Ok(&idx));
    for p in &idx.packs {
        pack::check_layout(&p.blobs, p.size as u64).unwrap();
        for b in &p.blobs {
            assert!(b.stored_len >= 40);
        }
    }
});
