//! Opening a blob against a hostile index entry (design.md §2, §4): hostile ciphertext, and hostile
//! zstd streams with hostile raw lengths sealed under the right key.
//!
//! Input: byte 0 picks the mode (bit 0: zstd flag in the entry, bit 1: tree type, bit 2: seal the
//! body under the right key, bit 3: name the blob by the body's own ID); bytes 1..5 the entry's raw
//! length (little-endian, reduced below the format's bound); the rest is the body.
#![no_main]

use backstock::crypto::{self, MasterKeys};
use backstock::format::blob_entry::{blob_aad, BlobEntry, BlobType, Compression, MAX_RAW_LEN};
use backstock::ids::BlobId;
use backstock::repository::{open_blob, open_blob_in_place};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let mode = data[0];
    let raw_len = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) % (MAX_RAW_LEN + 1);
    let body = &data[5..];
    let keys = MasterKeys::from_bytes(&[7; 64]);
    let compression = if mode & 1 != 0 { Compression::Zstd } else { Compression::None };
    let blob_type = if mode & 2 != 0 { BlobType::Tree } else { BlobType::Data };
    let id = if mode & 8 != 0 { keys.blob_id(body) } else { BlobId([3; 32]) };
    let sealed = if mode & 4 != 0 {
        crypto::seal(&keys.enc, &blob_aad(blob_type, compression), body).unwrap()
    } else {
        body.to_vec()
    };
    let entry = BlobEntry {
        blob_type,
        compression,
        offset: 0,
        stored_len: sealed.len() as u32,
        raw_len,
        id,
    };
    let whole = open_blob(&keys, &entry, &sealed);
    let mut copy = sealed.clone();
    let in_place = open_blob_in_place(&keys, &entry, &mut copy).map(|c| c.into_owned());
    assert_eq!(whole.is_ok(), in_place.is_ok());
    if let (Ok(a), Ok(b)) = (&whole, &in_place) {
        assert_eq!(a, b);
        assert_eq!(a.len(), raw_len as usize);
        assert_eq!(keys.blob_id(a), id, "accepted a blob that is not its ID");
    }
    // An uncompressed body sealed under the right key and named by its ID must open to itself.
    if mode & 0b1101 == 0b1100 && raw_len as usize == body.len() {
        assert_eq!(whole.as_deref().ok(), Some(body));
    }
});
