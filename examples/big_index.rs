//! Makes a repository whose index lists many blobs, to measure what a large index costs a backup:
//! `cargo run --release --example big_index -- REPO BLOBS` (password `big-index`), then for example
//! `BACKSTOCK_PASSWORD=big-index /usr/bin/time -v backstock -r REPO backup SOMEDIR`.
//!
//! The index files list made-up packs of made-up blobs (100,000 per file, 1,000 per pack); the packs
//! do not exist, so `check` fails on such a repository, but backup only consults the index.

use backstock::backend::LocalBackend;
use backstock::crypto::kdf::KdfParams;
use backstock::format::blob_entry::{BlobEntry, BlobType, Compression};
use backstock::format::index::{IndexFile, PackRecord};
use backstock::ids::{BlobId, PackId};
use backstock::repository::Repository;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || anyhow::anyhow!("usage: big_index REPO BLOBS");
    let repo_dir = args.next().ok_or_else(usage)?;
    let blobs: u64 = args.next().ok_or_else(usage)?.parse()?;
    let repo = Repository::init(
        Arc::new(LocalBackend::new(&repo_dir)),
        b"big-index",
        KdfParams::default(),
    )?;
    let id = |n: u64, kind: u8| {
        let mut h = blake3::Hasher::new();
        h.update(&[kind]).update(&n.to_le_bytes());
        *h.finalize().as_bytes()
    };
    let mut n = 0u64;
    while n < blobs {
        let mut file = IndexFile {
            supersedes: vec![],
            packs: vec![],
        };
        while n < blobs && file.packs.len() < 100 {
            let mut record = PackRecord {
                id: PackId(id(n, 1)),
                size: 0,
                blobs: Vec::new(),
            };
            let mut offset = 0u32;
            while n < blobs && record.blobs.len() < 1000 {
                record.blobs.push(BlobEntry {
                    blob_type: BlobType::Data,
                    compression: Compression::Zstd,
                    offset,
                    stored_len: 4000,
                    raw_len: 9000,
                    id: BlobId(id(n, 0)),
                });
                offset += 4000;
                n += 1;
            }
            record.size = offset + 100;
            file.packs.push(record);
        }
        repo.write_index(&file)?;
    }
    println!("{repo_dir}: index of {n} blobs");
    Ok(())
}
