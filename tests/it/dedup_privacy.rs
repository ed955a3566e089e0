//! Deduplication across backups (repository growth), and that nothing in the repository (or the
//! cache) reveals file contents, file names or plain hashes of the input files.

use crate::util::*;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;

/// About 2.4 MB of 200 small files in ten directories (text, and incompressible "thumbnails"), and
/// 2.5 MB of JSON.
fn make_shop(dir: &Path) {
    for i in 0..200usize {
        let len = 4_000 + (i * 7_919) % 16_000;
        let seed = format!("item {i}");
        let (name, data) = if i % 2 == 0 {
            (format!("item-{i}.txt"), pseudo_hex(&seed, len).into_bytes())
        } else {
            (format!("thumb-{i}.webp"), pseudo_random(&seed, len))
        };
        write(&dir.join(format!("items/{:02}/{name}", i % 10)), data);
    }
    write(
        &dir.join("catalog.json"),
        product_json("catalog", 2_500_000),
    );
}

fn growth(before: u64, after: u64) -> f64 {
    (after - before) as f64 / before as f64
}

#[test]
fn unchanged_and_touched_backups_add_almost_nothing() {
    let env = Env::init();
    let shop = env.path("shop");
    make_shop(&shop);
    let input: u64 = files_under(&shop)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();

    env.backup(&["shop"]);
    let first = env.repo_size();
    assert!(
        first > 1_000_000,
        "repository of {first} bytes is too small for a 1% check"
    );

    // Unchanged: taken from the parent snapshot without reading a byte.
    let second = env.backup_json(&["shop"]);
    assert_eq!(second["summary"]["bytes_read"], 0, "{second}");
    let after_second = env.repo_size();
    assert!(
        growth(first, after_second) < 0.01,
        "unchanged backup grew the repository from {first} to {after_second} bytes"
    );

    // Touched: every file is read again, but no content is stored twice.
    let now = filetime::FileTime::now();
    for f in files_under(&shop) {
        filetime::set_file_mtime(&f, now).unwrap();
    }
    let data_blobs = |env: &Env| -> usize {
        env.packs()
            .iter()
            .flat_map(|(_, info)| info["blobs"].as_array().cloned().unwrap_or_default())
            .filter(|b| b["blob_type"] == "data")
            .count()
    };
    let data_before = data_blobs(&env);
    assert!(data_before > 0, "no data blobs listed in the packs");
    let third = env.backup_json(&["shop"]);
    assert_eq!(third["summary"]["bytes_read"], input, "{third}");
    assert_eq!(
        data_blobs(&env),
        data_before,
        "file content was stored again"
    );
    // Only directory metadata (every node's mtime changed) is new.
    let after_third = env.repo_size();
    assert!(
        growth(after_second, after_third) < 0.02,
        "backup after touch grew the repository from {after_second} to {after_third} bytes"
    );
    assert_eq!(env.snapshots(&[]).len(), 3);

    let target = env.dir("restored");
    env.restore("latest:shop", &target, &[]);
    assert_same_tree(&shop, &target);
}

const CANARY: &str = "BACKSTOCK-CANARY-7f3a9";

/// Inputs carrying the canary in contents and names, plus ordinary, empty and media files.
fn make_secret_store(dir: &Path) {
    write(
        &dir.join(format!("{CANARY}.json")),
        format!("{{\"secret\":\"{CANARY}\"}}\n"),
    );
    write(
        &dir.join(format!("dir-{CANARY}/notes.txt")),
        format!("note mentioning {CANARY} twice: {CANARY}\n"),
    );
    let big = product_json("big", 300_000).replace("Variant 7 ", &format!("{CANARY} "));
    write(&dir.join("products/big.json"), big);
    for i in 0..5 {
        write(
            &dir.join(format!("products/{i}.json")),
            product_json(&format!("p{i}"), 1_000 + i * 5_000),
        );
    }
    write(&dir.join("empty.txt"), "");
    write(&dir.join("media.bin"), pseudo_random("media", 100_000));
}

/// Raw and hex forms of the BLAKE3 and SHA-256 of `data`.
fn hash_needles(data: &[u8]) -> Vec<Vec<u8>> {
    let b3 = blake3::hash(data).as_bytes().to_vec();
    let sha = Sha256::digest(data).to_vec();
    vec![
        hex::encode(&b3).into_bytes(),
        hex::encode(&sha).into_bytes(),
        b3,
        sha,
    ]
}

#[test]
fn repository_holds_no_plaintext_names_or_hashes() {
    let env = Env::init();
    let store = env.path("store");
    make_secret_store(&store);
    let first = env.backup(&["store"]);
    let stdin_input = format!("{{\"from\":\"stdin\",\"secret\":\"{CANARY}\"}}\n");
    env.ok_stdin(
        [
            "backup",
            "--stdin",
            "--stdin-filename",
            &format!("{CANARY}.json"),
        ],
        stdin_input.as_bytes(),
    );
    // Fill the cache with trees and index, as everyday use does.
    let target = env.dir("restored");
    env.restore(&first, &target, &[]);
    assert_same_tree(&store, &target.join("store"));
    env.ls("latest");

    let canary = vec![CANARY.as_bytes().to_vec()];
    let mut needles = canary.clone();
    let mut inputs: Vec<Vec<u8>> = files_under(&store)
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    inputs.push(stdin_input.into_bytes());
    for data in &inputs {
        needles.extend(hash_needles(data));
    }
    // The search works: the canary is in the inputs.
    assert!(find_any(&fs::read(store.join("products/big.json")).unwrap(), &canary).is_some());

    let repo_files = env.repo_files();
    assert!(repo_files.len() > 5);
    for f in repo_files.iter().chain(&files_under(&env.cache)) {
        let name = f.to_string_lossy();
        assert!(
            find_any(name.as_bytes(), &needles).is_none(),
            "{name}: the file name reveals an input"
        );
        let bytes = fs::read(f).unwrap();
        if let Some((needle, off)) = find_any(&bytes, &needles) {
            panic!(
                "{name} holds {:?} at offset {off}",
                String::from_utf8(needle.to_vec()).unwrap_or_else(|_| hex::encode(needle))
            );
        }
    }
}
