//! Repository config decoder (design.md §8): JSON.
#![no_main]

use backstock::format::config::{self, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Config::decode(data) else {
        return;
    };
    assert_eq!(c.version, config::VERSION);
    c.check().unwrap();
    let enc = c.encode();
    assert!(!enc.is_empty());
    assert_eq!(Config::decode(&enc).as_ref(), Ok(&c), "config does not round-trip");
    assert_eq!(Config::decode(&enc).unwrap().encode(), enc);
});
