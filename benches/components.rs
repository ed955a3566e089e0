//! Component throughput, in bytes per second where that makes sense.
//! Run: `cargo bench --bench components` (add `-- index` etc. to filter).

use backstock::chunker::{classify, Chunker, GearTable};
use backstock::crypto::keys::SecretKey;
use backstock::crypto::{self, MasterKeys};
use backstock::format::blob_entry::{BlobEntry, BlobType, Compression};
use backstock::format::config::{ChunkerSecret, Config};
use backstock::format::index::PackRecord;
use backstock::format::pack;
use backstock::format::tree::{self, Node, NodeKind, Timestamp};
use backstock::ids::{BlobId, PackId, RepoId};
use backstock::repository::MasterIndex;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;

fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![0u8; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut v);
    v
}

fn json(len: usize) -> Vec<u8> {
    let mut s = String::with_capacity(len + 200);
    let mut i = 0u64;
    while s.len() < len {
        s.push_str(&format!(
            "{{\"id\":{i},\"title\":\"Product {i}\",\"handle\":\"product-{i}\",\"price\":\"{}.{:02}\",\"inventory\":{},\"tags\":[\"summer\",\"sale\"]}}\n",
            i % 500,
            i % 100,
            (i * 7919) % 1000
        ));
        i += 1;
    }
    s.into_bytes()
}

/// `text` and `media` use the gear table of new repositories (derived from a secret); the
/// `_seeded` variants the XOR-seeded public table of version 1 repositories.
fn chunking(c: &mut Criterion) {
    let cfg = Config::new(RepoId([1; 32]), ChunkerSecret::from_bytes([0x12; 32]));
    let secret = Arc::new(GearTable::for_config(&cfg.chunker));
    let seeded = Arc::new(GearTable::from_seed(0x1234));
    let data = noise(64 << 20, 1);
    let mut g = c.benchmark_group("chunking");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    for (name, sizes) in [("text", cfg.chunker.text), ("media", cfg.chunker.media)] {
        for (suffix, table) in [("", &secret), ("_seeded", &seeded)] {
            let ch = Chunker::new(table.clone(), sizes);
            g.bench_function(format!("{name}{suffix}"), |b| {
                b.iter(|| black_box(ch.chunks(&data).len()))
            });
        }
    }
    g.finish();
    // Once per repository opened.
    let mut g = c.benchmark_group("gear_table");
    let key = ChunkerSecret::from_bytes([0x34; 32]);
    g.bench_function("derive_from_secret", |b| {
        b.iter(|| black_box(GearTable::from_secret(&key)))
    });
    g.finish();
}

fn hashing_and_sealing(c: &mut Criterion) {
    let keys = MasterKeys::generate();
    let data = noise(1 << 20, 2);
    let mut g = c.benchmark_group("crypto");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("keyed_blake3_1MiB", |b| {
        b.iter(|| black_box(keys.blob_id(&data)))
    });
    let key = SecretKey::random();
    g.bench_function("seal_1MiB", |b| {
        b.iter(|| black_box(crypto::seal(&key, b"ab", &data).unwrap().len()))
    });
    let sealed = crypto::seal(&key, b"ab", &data).unwrap();
    g.bench_function("open_1MiB", |b| {
        b.iter(|| black_box(crypto::open(&key, b"ab", &sealed).map(|v| v.len())))
    });
    // What restore does: decrypt where the pack was read (the copy of the input is not timed).
    g.bench_function("open_in_place_1MiB", |b| {
        b.iter_batched_ref(
            || sealed.clone(),
            |buf| black_box(crypto::open_in_place(&key, b"ab", buf).map(|p| p.len())),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn compression_decisions(c: &mut Criterion) {
    let text = json(4 << 20);
    let mut media = b"\xFF\xD8\xFF\xE0\x00\x10JFIF".to_vec();
    media.extend(noise(4 << 20, 3));
    let unknown_binary = noise(4 << 20, 4);
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(4 << 20));
    g.bench_function("json", |b| b.iter(|| black_box(classify(&text))));
    g.bench_function("jpeg_magic", |b| b.iter(|| black_box(classify(&media))));
    g.bench_function("unknown_binary_sample_test", |b| {
        b.iter(|| black_box(classify(&unknown_binary)))
    });
    g.finish();
    let mut g = c.benchmark_group("zstd");
    let chunk = &text[..64 << 10];
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("compress_json_64KiB_level3", |b| {
        b.iter(|| black_box(backstock::compress::compress(chunk, 3).len()))
    });
    g.finish();
}

fn packs(c: &mut Criterion) {
    let key = SecretKey::random();
    let keys = MasterKeys::generate();
    let blobs: Vec<Vec<u8>> = (0..16).map(|i| noise(1 << 20, i)).collect();
    let mut g = c.benchmark_group("pack");
    g.throughput(Throughput::Bytes(16 << 20));
    g.sample_size(10);
    let build = || {
        let mut data = Vec::with_capacity(17 << 20);
        let mut entries = Vec::new();
        for b in &blobs {
            let sealed = crypto::seal(&key, &[0, 0], b).unwrap();
            entries.push(BlobEntry {
                blob_type: BlobType::Data,
                compression: Compression::None,
                offset: data.len() as u32,
                stored_len: sealed.len() as u32,
                raw_len: b.len() as u32,
                id: keys.blob_id(b),
            });
            data.extend_from_slice(&sealed);
        }
        pack::finish(&key, data, &entries, pack::HEADER_VERSION).unwrap()
    };
    g.bench_function("write_16MiB", |b| b.iter(|| black_box(build().len())));
    let p = build();
    g.bench_function("read_and_open_16MiB", |b| {
        b.iter(|| {
            let entries = pack::parse(&key, &p).map(|e| e.len()).unwrap_or(0);
            let total: usize = (0..entries)
                .filter_map(|i| {
                    let e = pack::parse(&key, &p).ok()?[i];
                    crypto::open(&key, &[0, 0], &p[e.offset as usize..e.end() as usize]).ok()
                })
                .map(|v| v.len())
                .sum();
            black_box(total)
        })
    });
    g.finish();
}

fn index_lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("index_lookup");
    for n in [1_000_000usize, 10_000_000] {
        let per_pack = 1000;
        let id_of = |i: usize| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            BlobId(id)
        };
        let mut records = Vec::with_capacity(n / per_pack);
        for p in 0..n / per_pack {
            let blobs = (0..per_pack)
                .map(|j| BlobEntry {
                    blob_type: BlobType::Data,
                    compression: Compression::Zstd,
                    offset: (j * 100) as u32,
                    stored_len: 100,
                    raw_len: 200,
                    id: id_of(p * per_pack + j),
                })
                .collect();
            let mut pid = [0u8; 32];
            pid[..8].copy_from_slice(&(p as u64).to_le_bytes());
            records.push(PackRecord {
                id: PackId(pid),
                size: 200_000,
                blobs,
            });
        }
        let mut idx = MasterIndex::default();
        idx.add_packs(&records);
        drop(records);
        eprintln!(
            "index with {n} blobs: {} bytes ({:.1} per blob)",
            idx.memory_bytes(),
            idx.memory_bytes() as f64 / n as f64
        );
        g.bench_function(format!("{n}_hits"), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 7919) % n;
                black_box(idx.get(&id_of(i)))
            })
        });
        g.bench_function(format!("{n}_misses"), |b| {
            let mut i = n;
            b.iter(|| {
                i += 1;
                black_box(idx.contains(&id_of(i)))
            })
        });
    }
    g.finish();
}

fn tree_encoding(c: &mut Criterion) {
    let nodes: Vec<Node> = (0..100_000u32)
        .map(|i| Node {
            name: format!("{i:08}.json").into_bytes(),
            kind: NodeKind::File,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: Timestamp {
                sec: 1_700_000_000 + i as i64,
                nsec: 0,
            },
            ctime: Timestamp {
                sec: 1_700_000_000,
                nsec: 0,
            },
            inode: i as u64,
            device: 1,
            size: 2000,
            content: vec![BlobId([i as u8; 32])],
            link_target: vec![],
            rdev: 0,
            links: 0,
            xattrs: vec![],
        })
        .collect();
    let (stream, ends) = tree::encode_stream(&nodes, tree::VERSION_PLAIN);
    let cfg = Config::new(RepoId([1; 32]), ChunkerSecret::from_bytes([7; 32]));
    let ch = Chunker::new(
        Arc::new(GearTable::for_config(&cfg.chunker)),
        cfg.chunker.text,
    );
    let mut g = c.benchmark_group("tree_100k_entries");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.sample_size(10);
    g.bench_function("encode_and_cut", |b| {
        b.iter(|| {
            let (s, e) = tree::encode_stream(&nodes, tree::VERSION_PLAIN);
            black_box(ch.chunks_at_boundaries(&s, &e).len())
        })
    });
    let blobs: Vec<Vec<u8>> = ch
        .chunks_at_boundaries(&stream, &ends)
        .into_iter()
        .map(|r| tree::blob_from_stream_part(tree::VERSION_PLAIN, &stream[r]))
        .collect();
    g.bench_function("decode", |b| {
        b.iter_batched(
            || (),
            |_| {
                black_box(
                    blobs
                        .iter()
                        .map(|b| tree::decode_blob(b).map(|n| n.len()).unwrap_or(0))
                        .sum::<usize>(),
                )
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

// criterion_group! defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(
        benches,
        chunking,
        hashing_and_sealing,
        compression_decisions,
        packs,
        index_lookups,
        tree_encoding
    );
}
use group::benches;
criterion_main!(benches);
