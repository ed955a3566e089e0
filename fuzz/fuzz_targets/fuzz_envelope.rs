//! Sealed envelope opener (design.md §2) with a fixed key.
//!
//! First byte: bits 0..=2 pick the kind (mod 5), bits 3..=4 the mode:
//! - 0: the rest is an envelope as read from the backend (hostile bytes, wrong key);
//! - 1: seal the rest with `envelope::seal` (compressed if bit 5), open must return it;
//! - 2: the rest is a raw zstd payload sealed under the right key with the compression flag set,
//!   so hostile compressed data reaches the bounded decompressor;
//! - 3: like 2 with flag 0: open must return exactly the rest.
#![no_main]

use backstock::compress::MAX_PAYLOAD;
use backstock::crypto::{self, keys::SecretKey};
use backstock::format::envelope::{self, Kind, MAGIC, VERSION};
use libfuzzer_sys::fuzz_target;

const KINDS: [Kind; 5] = [Kind::Config, Kind::Index, Kind::Snapshot, Kind::PackHeader, Kind::Lock];

fn key() -> SecretKey {
    SecretKey::from_bytes([0x42; 32])
}

fn raw_envelope(kind: Kind, key: &SecretKey, flag: u8, body: &[u8]) -> Vec<u8> {
    let header = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, kind as u8, flag, 0];
    let mut out = header.to_vec();
    out.extend_from_slice(&crypto::seal(key, &header, body).unwrap());
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let kind = KINDS[(sel & 7) as usize % KINDS.len()];
    let other = KINDS[((sel & 7) as usize + 1) % KINDS.len()];
    let key = key();
    match (sel >> 3) & 3 {
        0 => {
            for k in KINDS {
                if let Ok(p) = envelope::open(k, &key, rest) {
                    assert!(p.len() as u64 <= MAX_PAYLOAD);
                }
            }
        }
        1 => {
            let sealed = envelope::seal(kind, &key, rest, sel & 32 != 0).unwrap();
            assert!(sealed.len() <= rest.len() + envelope::OVERHEAD);
            assert_eq!(envelope::open(kind, &key, &sealed).as_deref(), Ok(rest));
            assert!(envelope::open(other, &key, &sealed).is_err(), "kind not checked");
            assert!(envelope::open(kind, &SecretKey::from_bytes([0x43; 32]), &sealed).is_err());
            let mut t = sealed.clone();
            let i = rest.first().copied().unwrap_or(0) as usize % t.len();
            t[i] ^= 1;
            assert!(envelope::open(kind, &key, &t).is_err(), "tampering not detected at {i}");
        }
        2 => {
            let env = raw_envelope(kind, &key, 1, rest);
            if let Ok(p) = envelope::open(kind, &key, &env) {
                assert!(p.len() as u64 <= MAX_PAYLOAD);
            }
        }
        _ => {
            let env = raw_envelope(kind, &key, 0, rest);
            assert_eq!(envelope::open(kind, &key, &env).as_deref(), Ok(rest));
            assert!(envelope::open(other, &key, &env).is_err());
        }
    }
});
