//! Generating input trees: pseudo-random content, JSON documents, a small store export, and
//! setting modes and times.

use filetime::FileTime;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `len` pseudo-random bytes from BLAKE3's extendable output, seeded by `seed` (does not compress).
pub fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Lower-case hex of pseudo-random bytes: text that compresses to about half.
pub fn pseudo_hex(seed: &str, len: usize) -> String {
    let mut s = hex::encode(pseudo_random(seed, len.div_ceil(2)));
    s.truncate(len);
    s
}

/// Writes a file, creating its parent directories.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's or directory's mtime (and atime); for symlinks use `set_link_mtime`.
pub fn set_mtime(path: &Path, sec: i64, nsec: u32) {
    let t = FileTime::from_unix_time(sec, nsec);
    filetime::set_file_times(path, t, t).unwrap();
}

pub fn set_link_mtime(path: &Path, sec: i64, nsec: u32) {
    let t = FileTime::from_unix_time(sec, nsec);
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// A JSON product document of roughly `len` bytes, varied by `seed`.
pub fn product_json(seed: &str, len: usize) -> String {
    let mut variants = Vec::new();
    let mut i = 0;
    let mut total = 0;
    while total < len {
        let sku = pseudo_hex(&format!("{seed}/sku/{i}"), 12);
        let price = u32::from_le_bytes(
            pseudo_random(&format!("{seed}/p/{i}"), 4)[..4]
                .try_into()
                .unwrap(),
        ) % 100_000;
        let v = format!(
            r#"{{"id":{i},"sku":"{sku}","price":{}.{:02},"title":"Variant {i} of {seed}","stock":{}}}"#,
            price / 100,
            price % 100,
            price % 97
        );
        total += v.len() + 1;
        variants.push(v);
        i += 1;
    }
    format!(
        "{{\"product\":\"{seed}\",\"variants\":[\n{}\n]}}\n",
        variants.join(",\n")
    )
}

/// A small store export used by several tests:
///
/// ```text
/// store/products/1.json .. 5.json    small JSON
/// store/products/images/1.jpg        fake JPEG (media class)
/// store/products.jsonl               ~600 KB JSON lines (several chunks)
/// store/theme/layout.liquid, theme/assets/app.css
/// store/cache/page.tmp, store/draft.tmp
/// store/orders.csv
/// ```
pub fn make_store(dir: &Path) {
    for i in 1..=5 {
        write(
            &dir.join(format!("products/{i}.json")),
            product_json(&format!("product-{i}"), 300 * i),
        );
    }
    let mut jpg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpg.extend(pseudo_random("jpeg", 40_000));
    write(&dir.join("products/images/1.jpg"), jpg);
    let lines: Vec<String> = (0..1500)
        .map(|i| product_json(&format!("line-{i}"), 300).replace('\n', ""))
        .collect();
    write(&dir.join("products.jsonl"), lines.join("\n"));
    write(
        &dir.join("theme/layout.liquid"),
        "<html>{{ content_for_layout }}</html>\n",
    );
    write(&dir.join("theme/assets/app.css"), "body { margin: 0 }\n");
    write(&dir.join("cache/page.tmp"), "temporary\n");
    write(&dir.join("draft.tmp"), "draft\n");
    write(&dir.join("orders.csv"), "id,total\n1,10.00\n2,20.00\n");
}
