//! Snapshot payload decoder (design.md §7): JSON.
#![no_main]

use backstock::format::snapshot::{self, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = Snapshot::decode(data) else {
        return;
    };
    assert_eq!(s.version, snapshot::VERSION);
    let enc = s.encode().unwrap();
    assert!(!enc.is_empty());
    assert_eq!(Snapshot::decode(&enc).as_ref(), Ok(&s), "snapshot does not round-trip");
    // Encoding is deterministic.
    assert_eq!(Snapshot::decode(&enc).unwrap().encode().unwrap(), enc);
});
