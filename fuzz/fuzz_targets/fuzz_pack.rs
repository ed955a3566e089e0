//! Whole-pack parsing with a fixed key (design.md §4).
//!
//! First byte selects the mode:
//! - even: the rest is a pack file as read from the backend (hostile bytes, wrong key);
//! - odd: the rest is `u16 data_len` + a pack header payload, sealed here with the fixed key, so the
//!   fuzzer reaches `decode_header` through `parse` (an attacker who holds the key, or a bug in a
//!   writer). `parse` must then agree with `decode_header`, and re-packing its entries (padded data
//!   section, version 2 header) must round-trip with lengths that depend only on the buckets.
#![no_main]

use backstock::crypto::keys::SecretKey;
use backstock::format::blob_entry::ENTRY_LEN;
use backstock::format::envelope::{self, Kind};
use backstock::format::pack;
use libfuzzer_sys::fuzz_target;

fn key() -> SecretKey {
    SecretKey::from_bytes([0x42; 32])
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = key();
    if mode & 1 == 0 {
        if let Ok(entries) = pack::parse(&key, rest) {
            // Not expected without forging a tag, but if it happens the layout must hold.
            pack::check_layout(&entries, rest.len() as u64).unwrap();
        }
        return;
    }

    if rest.len() < 2 {
        return;
    }
    let data_len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
    let plain = &rest[2..];
    let compress = mode & 2 != 0;

    let sealed = envelope::seal(Kind::PackHeader, &key, plain, compress).unwrap();
    let mut packed = vec![0u8; data_len];
    packed.extend_from_slice(&sealed);
    packed.extend_from_slice(&pack::encode_trailer(sealed.len() as u32));

    let parsed = pack::parse(&key, &packed);
    let direct = pack::decode_header(plain, data_len as u64);
    assert_eq!(parsed, direct, "parse disagrees with decode_header");

    // A header envelope sealed under another kind must be refused.
    let wrong = envelope::seal(Kind::Index, &key, plain, compress).unwrap();
    let mut bad = vec![0u8; data_len];
    bad.extend_from_slice(&wrong);
    bad.extend_from_slice(&pack::encode_trailer(wrong.len() as u32));
    assert!(pack::parse(&key, &bad).is_err(), "index envelope accepted as a pack header");

    if let Ok(entries) = parsed {
        let v1 = pack::finish(&key, vec![0u8; data_len], &entries, pack::HEADER_VERSION_UNPADDED)
            .unwrap();
        assert_eq!(v1.len(), data_len + envelope::OVERHEAD + 5 + entries.len() * ENTRY_LEN + pack::TRAILER_LEN);
        assert_eq!(pack::parse(&key, &v1).as_ref(), Ok(&entries));
        let again = pack::finish(&key, vec![0u8; data_len], &entries, pack::HEADER_VERSION).unwrap();
        let header = envelope::OVERHEAD + 5 + pack::header_slots(entries.len()) * ENTRY_LEN;
        let padded = pack::padded_data_len(data_len as u64) as usize;
        assert_eq!(again.len(), padded + header + pack::TRAILER_LEN, "pack length");
        assert_eq!(pack::parse(&key, &again), Ok(entries));
        // Truncating a valid pack must never panic, and chopping the trailer must fail.
        for cut in [1usize, pack::TRAILER_LEN, again.len()] {
            if cut <= again.len() {
                assert!(pack::parse(&key, &again[..again.len() - cut]).is_err());
            }
        }
    }
});
