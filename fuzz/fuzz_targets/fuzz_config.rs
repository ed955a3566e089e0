//! Repository config decoder (design.md §8): JSON, versions 1 (seed) and 2 (secret).
#![no_main]

use backstock::format::config::{self, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Config::decode(data) else {
        return;
    };
    assert!(c.version == config::VERSION || c.version == config::VERSION_SEEDED);
    // Exactly one gear key, the one the version names.
    assert_eq!(c.chunker.seed.is_some(), c.version == config::VERSION_SEEDED);
    assert_eq!(c.chunker.secret.is_some(), c.version == config::VERSION);
    c.check().unwrap();
    let enc = c.encode().unwrap();
    assert!(!enc.is_empty());
    assert_eq!(Config::decode(&enc).as_ref(), Ok(&c), "config does not round-trip");
    assert_eq!(Config::decode(&enc).unwrap().encode().unwrap(), enc);
});
