//! What the storage sees (design.md §4a): a new repository keys its chunker with a secret, and its
//! packs' lengths give away neither their blob count nor their exact stored size; a repository made
//! before (version 1 config, seeded gear table) keeps its chunking and keeps working.

use crate::util::*;
use backstock::backend::local::LocalBackend;
use backstock::chunker::{Chunker, Class, GearTable};
use backstock::format::config::Config;
use backstock::format::envelope::{self, Kind};
use backstock::format::pack;
use backstock::repository::{OpenOptions, Repository};
use std::fs;
use std::path::Path;
use std::sync::Arc;

/// Text files of different sizes (several blobs in one data pack) and one file under the minimum.
fn make_files(dir: &Path) {
    for i in 0..7usize {
        let text = pseudo_hex(&format!("file {i}"), 3_000 + i * 4_321);
        write(&dir.join(format!("f{i}.txt")), text);
    }
    write(&dir.join("small.json"), "{\"tiny\": true}\n");
}

/// `(L, D)`: the sealed header's length from the trailer, and the length of the data section.
fn lengths(pack: &[u8]) -> (u64, u64) {
    let t = &pack[pack.len() - pack::TRAILER_LEN..];
    let l = u64::from(u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
    (l, pack.len() as u64 - pack::TRAILER_LEN as u64 - l)
}

fn open(env: &Env) -> Repository {
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    Repository::open(
        Arc::new(LocalBackend::new(&env.repo)),
        PASSWORD.as_bytes(),
        &opts,
    )
    .unwrap()
}

#[test]
fn new_repository_has_a_chunker_secret_and_padded_packs() {
    let env = Env::init();
    let config = env.json(["cat", "config"]);
    assert_eq!(config["version"], 2, "{config}");
    assert!(is_hex_id(&config["chunker"]["secret"]), "{config}");
    assert!(config["chunker"].get("seed").is_none(), "{config}");

    let store = env.path("store");
    make_files(&store);
    env.backup(&["store"]);
    let packs = env.packs();
    assert!(packs.len() >= 2, "a data and a tree pack");
    let mut counts = Vec::new();
    for (path, info) in packs {
        let bytes = fs::read(&path).unwrap();
        let (l, d) = lengths(&bytes);
        let blobs = info["blobs"].as_array().unwrap();
        // The header has room for a power of two of entries, at least 64, whatever N is.
        let slots = (l - envelope::OVERHEAD as u64 - 5) / 46;
        assert_eq!(l, envelope::OVERHEAD as u64 + 5 + slots * 46);
        assert_eq!(slots, 64, "{} blobs", blobs.len());
        counts.push(blobs.len());
        // The data section is the blobs' total length, padded.
        let stored: u64 = blobs
            .iter()
            .map(|b| b["stored_len"].as_u64().unwrap())
            .sum();
        assert_eq!(d, pack::padded_data_len(stored), "{}", path.display());
        assert!(d > stored, "{}: no padding", path.display());
    }
    assert!(counts.iter().any(|&n| n > 1), "{counts:?}");

    let target = env.dir("restored");
    env.restore("latest:store", &target, &[]);
    assert_same_tree(&store, &target);
    env.ok(["check", "--read-data"]);
}

#[test]
fn version_1_repository_keeps_its_seeded_chunking() {
    let env = Env::init();
    // Make it a repository from before version 2: same keys and ID, a config with a seed.
    let repo = open(&env);
    let old = Config::new_seeded(repo.config().id, 0x5eed_0123_4567_89ab);
    let sealed = repo
        .seal_file(Kind::Config, &old.encode().unwrap(), false)
        .unwrap();
    drop(repo);
    fs::write(env.repo.join("config"), sealed).unwrap();

    let config = env.json(["cat", "config"]);
    assert_eq!(config["version"], 1, "{config}");
    assert_eq!(
        config["chunker"]["seed"], 0x5eed_0123_4567_89abu64,
        "{config}"
    );
    let repo = open(&env);
    let data = pseudo_random("chunk me", 1 << 20);
    let seeded = Chunker::new(
        Arc::new(GearTable::from_seed(0x5eed_0123_4567_89ab)),
        old.chunker.text,
    );
    let chunks = repo.chunker(Class::Text).chunks(&data);
    assert!(chunks.len() > 50);
    assert_eq!(chunks, seeded.chunks(&data));
    drop(repo);

    let store = env.path("store");
    make_files(&store);
    write(&store.join("big.bin"), &data);
    env.backup(&["store"]);
    let target = env.dir("restored");
    env.restore("latest:store", &target, &[]);
    assert_same_tree(&store, &target);
    env.ok(["check", "--read-data"]);
    // Its packs keep the layout the versions that made it read: unpadded headers, no data padding.
    let repo = open(&env);
    for (path, info) in env.packs() {
        let bytes = fs::read(&path).unwrap();
        let trailer = &bytes[bytes.len() - pack::TRAILER_LEN..];
        let hlen = pack::decode_trailer(trailer, bytes.len() as u64).unwrap() as usize;
        let start = bytes.len() - pack::TRAILER_LEN - hlen;
        let plain = repo
            .open_file(Kind::PackHeader, &bytes[start..start + hlen])
            .unwrap();
        assert_eq!(plain[0], pack::HEADER_VERSION_UNPADDED);
        let stored: u64 = info["blobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["stored_len"].as_u64().unwrap())
            .sum();
        assert_eq!(
            stored,
            start as u64,
            "{}: data section padded",
            path.display()
        );
    }
}
