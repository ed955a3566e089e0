//! Chooses a file's content class from its first bytes (design.md §3).

/// How many leading bytes the sample test looks at.
pub const SAMPLE_LEN: usize = 64 << 10;
const MIN_SAMPLE_TEST: usize = 512;

/// A file's content class; it picks the chunk sizes and whether blobs are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Compressible: small chunks, zstd.
    Text,
    /// Already compressed: large chunks, stored as is.
    Media,
}

/// Classifies a file by its first `min(len, SAMPLE_LEN)` bytes. Deterministic for the same bytes.
pub fn classify(sample: &[u8]) -> Class {
    let sample = &sample[..sample.len().min(SAMPLE_LEN)];
    if sample.len() < MIN_SAMPLE_TEST {
        return Class::Text;
    }
    if has_media_magic(sample) {
        return Class::Media;
    }
    let compressed = crate::compress::compress(sample, 1).len();
    if compressed * 16 > sample.len() * 15 {
        Class::Media
    } else {
        Class::Text
    }
}

fn has_media_magic(s: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"\xFF\xD8\xFF",       // JPEG
        b"\x89PNG\r\n\x1A\n",  // PNG
        b"GIF8",               // GIF
        b"PK\x03\x04",         // ZIP (and docx, xlsx, jar...)
        b"\x1F\x8B",           // gzip
        b"\x28\xB5\x2F\xFD",   // zstd
        b"\xFD7zXZ\x00",       // xz
        b"BZh",                // bzip2
        b"7z\xBC\xAF\x27\x1C", // 7z
        b"\x1A\x45\xDF\xA3",   // WebM / Matroska
        b"OggS",               // Ogg
        b"ID3",                // MP3
        b"wOFF",               // WOFF
        b"wOF2",               // WOFF2
    ];
    if PREFIXES.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    let riff_webp = s.len() >= 12 && &s[..4] == b"RIFF" && &s[8..12] == b"WEBP";
    let iso_bmff = s.len() >= 8 && &s[4..8] == b"ftyp";
    riff_webp || iso_bmff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        blake3::Hasher::new().finalize_xof().fill(&mut v);
        v
    }

    #[test]
    fn json_is_text() {
        let json: String = (0..2000)
            .map(|i| {
                format!(
                    "{{\"id\":{i},\"title\":\"Product {i}\",\"price\":\"{}.99\"}}\n",
                    i % 97
                )
            })
            .collect();
        assert_eq!(classify(json.as_bytes()), Class::Text);
    }

    #[test]
    fn magic_and_noise_are_media() {
        let mut jpeg = b"\xFF\xD8\xFF\xE0".to_vec();
        jpeg.extend(vec![0u8; 4096]); // compressible, but the magic decides
        assert_eq!(classify(&jpeg), Class::Media);
        assert_eq!(classify(&noise(100_000)), Class::Media);
        let mut webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
        webp.extend(noise(1000));
        assert_eq!(classify(&webp), Class::Media);
    }

    #[test]
    fn tiny_files_are_text() {
        assert_eq!(classify(&noise(100)), Class::Text);
        assert_eq!(classify(b""), Class::Text);
    }
}
