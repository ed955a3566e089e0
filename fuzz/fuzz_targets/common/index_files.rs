//! Shared by the targets that build on several index files: hostile input cut into index files.

use backstock::format::index::IndexFile;
use backstock::ids::IndexId;

/// Cuts `data` into chunks (a u16 length, little-endian, then that many bytes), decodes each as an
/// index payload (chunks that do not decode are skipped), and returns at most `max` files. Each
/// file's ID comes from its position, and its `supersedes` list is rewritten to name earlier files
/// (by the listed IDs' first byte), so that supersession between the files actually happens.
pub fn index_files(data: &[u8], max: usize) -> Vec<(IndexId, IndexFile)> {
    let mut files: Vec<(IndexId, IndexFile)> = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && files.len() < max {
        let n = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        let (chunk, tail) = body.split_at(n.min(body.len()));
        rest = tail;
        let Ok(mut f) = IndexFile::decode(chunk) else {
            continue;
        };
        let earlier: Vec<IndexId> = files.iter().map(|(id, _)| *id).collect();
        f.supersedes = f
            .supersedes
            .iter()
            .filter(|_| !earlier.is_empty())
            .map(|s| earlier[s.0[0] as usize % earlier.len()])
            .collect();
        files.push((IndexId([files.len() as u8 + 1; 32]), f));
    }
    files
}
