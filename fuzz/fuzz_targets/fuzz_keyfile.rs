//! Key file decoder (design.md §2). Never derives a key: argon2 is far too slow for a fuzzer.
#![no_main]

use backstock::format::keyfile::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(kf) = KeyFile::decode(data) else {
        return;
    };
    kf.kdf.check().unwrap();
    assert!(kf.host.len() <= 255 && kf.user.len() <= 255);
    let enc = kf.encode();
    assert_eq!(enc, data, "key file re-encodes differently");
    assert_eq!(KeyFile::decode(&enc).as_ref(), Ok(&kf));
});
