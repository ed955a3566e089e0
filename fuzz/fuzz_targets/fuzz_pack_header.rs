//! Pack header payload (versions 1 and 2) and pack trailer decoders (design.md §4).
//!
//! Input: 8 bytes little-endian pack size (also used as the data-section length for the header),
//! then the bytes given to both decoders.
#![no_main]

use backstock::format::blob_entry::ENTRY_LEN;
use backstock::format::envelope;
use backstock::format::pack::{self, TRAILER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap());
    let rest = &data[8..];

    if let Ok(entries) = pack::decode_header(rest, size) {
        // Both header versions are canonical: re-encoding gives the same bytes.
        let n = entries.len();
        let enc = if rest[0] == pack::HEADER_VERSION_UNPADDED {
            pack::encode_header_unpadded(&entries)
        } else {
            let enc = pack::encode_header(&entries);
            assert_eq!(enc.len(), 5 + pack::header_slots(n) * ENTRY_LEN);
            enc
        };
        assert_eq!(enc, rest, "pack header re-encodes differently");
        assert_eq!(pack::decode_header(&enc, size).as_ref(), Ok(&entries));
        assert!(n as u64 * 40 <= size, "more blobs than the data section can hold");
        // Layout rules: no overlap, everything inside the data section, sealed length >= 40.
        let mut spans: Vec<(u64, u64)> = entries.iter().map(|e| (e.offset as u64, e.end())).collect();
        spans.sort_unstable();
        let mut prev = 0u64;
        for (start, end) in spans {
            assert!(start >= prev, "overlapping blobs accepted");
            assert!(end <= size, "blob past the data section accepted");
            prev = end;
        }
        for e in &entries {
            assert!(e.stored_len >= 40);
        }
    }

    check_trailer(rest, size);
    if rest.len() > TRAILER_LEN {
        check_trailer(&rest[rest.len() - TRAILER_LEN..], size);
    }
});

fn check_trailer(t: &[u8], size: u64) {
    if let Ok(header_len) = pack::decode_trailer(t, size) {
        assert_eq!(&pack::encode_trailer(header_len)[..], t, "trailer re-encodes differently");
        assert!(header_len as usize >= envelope::OVERHEAD);
        assert!(header_len as u64 + TRAILER_LEN as u64 <= size);
    }
}
