//! `diff`, `find` and `stats` driven through the binary, checked against what the test wrote itself.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::util::Env;

/// A repository made by the shared harness, with a work folder to back up: commands run in `work/`.
struct Work {
    env: Env,
}

impl Work {
    fn new() -> Work {
        let w = Work { env: Env::init() };
        fs::create_dir(w.work()).unwrap();
        w
    }

    fn work(&self) -> PathBuf {
        self.env.path("work")
    }

    fn shop(&self) -> PathBuf {
        self.work().join("shop")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd();
        c.current_dir(self.work()).args(args);
        c
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "backstock {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let s = self.ok(&a);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"))
    }

    /// Backs up `shop`; returns the new snapshot's full ID.
    fn backup(&self) -> String {
        let v = self.json(&["backup", "shop"]);
        v["snapshot_id"].as_str().unwrap().to_string()
    }
}

fn write(p: &Path, bytes: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// Deterministic bytes that do not compress.
fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What the test knows of one path on disk, as the backup records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    is_dir: bool,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    size: u64,
    bytes: Vec<u8>,
}

type Listing = BTreeMap<String, Entry>;

/// Every path under `shop`, keyed like the snapshot shows it (`/shop/...`).
fn listing(work: &Path) -> Listing {
    fn walk(dir: &Path, prefix: &str, out: &mut Listing) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = format!("{prefix}/{}", e.file_name().to_str().unwrap());
            let m = fs::symlink_metadata(e.path()).unwrap();
            let is_dir = m.is_dir();
            out.insert(
                path.clone(),
                Entry {
                    is_dir,
                    mode: m.permissions().mode() & 0o7777,
                    mtime: (m.mtime(), m.mtime_nsec()),
                    ctime: (m.ctime(), m.ctime_nsec()),
                    ino: m.ino(),
                    size: if is_dir { 0 } else { m.len() },
                    bytes: if is_dir {
                        vec![]
                    } else {
                        fs::read(e.path()).unwrap()
                    },
                },
            );
            if is_dir {
                walk(&e.path(), &path, out);
            }
        }
    }
    let mut out = Listing::new();
    walk(work, "", &mut out);
    out
}

/// The spec, applied to two listings: (path, change) for every changed path.
fn expected_changes(old: &Listing, new: &Listing) -> BTreeSet<(String, String)> {
    // A directory is unchanged when its entries and everything below are recorded identically.
    let subtree_same = |dir: &str| {
        let below = |l: &Listing| -> Vec<(String, Entry)> {
            l.iter()
                .filter(|(p, _)| p.starts_with(&format!("{dir}/")))
                .map(|(p, e)| (p.clone(), e.clone()))
                .collect()
        };
        below(old) == below(new)
    };
    let mut out = BTreeSet::new();
    for (p, o) in old {
        let change = match new.get(p) {
            None => Some("removed"),
            Some(n) if o.is_dir != n.is_dir => Some("modified"),
            Some(n) if !n.is_dir && (o.bytes != n.bytes || o.size != n.size) => Some("modified"),
            Some(n) if n.is_dir && !subtree_same(p) => (o.mode != n.mode).then_some("metadata"),
            Some(n) => (o.mode != n.mode || o.mtime != n.mtime).then_some("metadata"),
        };
        out.extend(change.map(|c| (p.clone(), c.to_string())));
    }
    for p in new.keys().filter(|p| !old.contains_key(*p)) {
        out.insert((p.clone(), "added".to_string()));
    }
    out
}

fn file_bytes(l: &Listing) -> u64 {
    l.values().filter(|e| !e.is_dir).map(|e| e.size).sum()
}

/// The first state of the shop, and the changes made between the two backups.
fn first_state(shop: &Path) {
    write(&shop.join("products/a.json"), br#"{"id":1,"price":10}"#);
    write(&shop.join("products/b.json"), br#"{"id":2,"price":20}"#);
    write(&shop.join("products/gone.json"), br#"{"id":3}"#);
    write(&shop.join("products/same.json"), br#"{"id":4}"#);
    write(&shop.join("theme/style.css"), b"body { color: red }\n");
    write(&shop.join("theme/app.js"), b"console.log(1)\n");
    write(&shop.join("orders/2024/1.csv"), b"1,2,3\n");
    write(&shop.join("orders/2024/2.csv"), b"4,5,6\n");
    write(&shop.join("orders/index.txt"), b"orders\n");
    write(&shop.join("static/big.bin"), &noise(300_000, 1));
    write(&shop.join("static/logo.txt"), b"logo\n");
}

fn second_state(shop: &Path) {
    // Content changed with the same size, and with a new size.
    write(&shop.join("products/a.json"), br#"{"id":1,"price":11}"#);
    write(&shop.join("products/b.json"), br#"{"id":2,"price":200}"#);
    fs::remove_file(shop.join("products/gone.json")).unwrap();
    write(&shop.join("products/new.json"), br#"{"id":5}"#);
    // Metadata only: an older mtime, and a mode change.
    filetime::set_file_mtime(
        shop.join("theme/style.css"),
        filetime::FileTime::from_unix_time(1_600_000_000, 0),
    )
    .unwrap();
    fs::set_permissions(shop.join("theme/app.js"), fs::Permissions::from_mode(0o600)).unwrap();
    // A directory tree removed and one added.
    fs::remove_dir_all(shop.join("orders")).unwrap();
    write(&shop.join("media/img/1.bin"), &noise(5_000, 2));
    write(&shop.join("media/readme.txt"), b"media\n");
}

fn changes_of(v: &Value) -> BTreeSet<(String, String)> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn diff_find_and_stats_match_what_was_written() {
    let env = Work::new();
    first_state(&env.shop());
    let before = listing(&env.work());
    let s1 = env.backup();
    second_state(&env.shop());
    let after = listing(&env.work());
    let s2 = env.backup();
    let s3 = env.backup(); // nothing changed: the same tree again

    let expected = expected_changes(&before, &after);
    // The change set really exercises every kind.
    for kind in ["added", "removed", "modified", "metadata"] {
        assert!(
            expected.iter().any(|(_, c)| c == kind),
            "{kind}: {expected:?}"
        );
    }
    assert!(expected.contains(&("/shop/orders/2024/1.csv".into(), "removed".into())));
    assert!(expected.contains(&("/shop/media/img".into(), "added".into())));
    assert!(expected.contains(&("/shop/theme/style.css".into(), "metadata".into())));

    // JSON form; metadata-only changes are listed with --metadata, counted always.
    let v = env.json(&["diff", "--metadata", &s1, &s2]);
    assert_eq!(changes_of(&v), expected);
    let plain = env.json(&["diff", &s1, &s2]);
    let without: BTreeSet<_> = expected
        .iter()
        .filter(|(_, c)| c != "metadata")
        .cloned()
        .collect();
    assert_eq!(changes_of(&plain), without);
    assert_eq!(plain["totals"]["metadata"], 2);
    let t = &v["totals"];
    let count = |c: &str, dir: bool| {
        expected
            .iter()
            .filter(|(p, k)| {
                k == c && {
                    let l = if c == "removed" { &before } else { &after };
                    l[p].is_dir == dir
                }
            })
            .count() as u64
    };
    assert_eq!(t["files_added"], count("added", false));
    assert_eq!(t["files_removed"], count("removed", false));
    assert_eq!(t["dirs_added"], count("added", true));
    assert_eq!(t["dirs_removed"], count("removed", true));
    assert_eq!(t["modified"], 2);
    assert_eq!(t["metadata"], 2);
    let net = t["bytes_added"].as_i64().unwrap() - t["bytes_removed"].as_i64().unwrap();
    assert_eq!(net, file_bytes(&after) as i64 - file_bytes(&before) as i64);

    // Text form: the same lines, then totals.
    let text = env.ok(&["diff", "--metadata", &s1[..8], &s2[..8]]);
    let lines: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let (sym, path) = l.split_once("    ")?;
            let change = match sym {
                "+" => "added",
                "-" => "removed",
                "M" => "modified",
                "U" => "metadata",
                _ => return None,
            };
            Some((path.to_string(), change.to_string()))
        })
        .collect();
    assert_eq!(lines, expected);
    assert!(text.contains("Files:"), "{text}");

    // Unchanged backups and a subtree compare.
    let same = env.json(&["diff", &s2, &s3]);
    assert!(changes_of(&same).is_empty(), "{same}");
    let sub = env.json(&[
        "diff",
        "--metadata",
        &format!("{s1}:shop/products"),
        &format!("{s2}:/shop/products"),
    ]);
    let sub_expected: BTreeSet<_> = expected
        .iter()
        .filter_map(|(p, c)| Some((p.strip_prefix("/shop/products")?.to_string(), c.clone())))
        .filter(|(p, _)| !p.is_empty())
        .collect();
    assert_eq!(changes_of(&sub), sub_expected);

    // find: per snapshot, with size and type.
    let found = env.json(&["find", "new.json", "gone.json"]);
    let per_snap: Vec<(String, Vec<String>)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let paths = s["matches"].as_array().unwrap();
            (
                s["snapshot"].as_str().unwrap().to_string(),
                paths
                    .iter()
                    .map(|m| m["path"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        per_snap,
        [
            (s1.clone(), vec!["/shop/products/gone.json".to_string()]),
            (s2.clone(), vec!["/shop/products/new.json".to_string()]),
            (s3.clone(), vec!["/shop/products/new.json".to_string()]),
        ]
    );
    let m = &found[1]["matches"][0];
    assert_eq!(m["type"], "file");
    assert_eq!(m["size"], after["/shop/products/new.json"].size);
    assert!(m["mtime"].as_str().unwrap().len() >= 20, "{m}");
    assert!(found[0]["time"].is_string());
    // Path patterns, --snapshot limits, directories match too.
    let f = env.json(&["find", "shop/orders", "--snapshot", &s1, "--snapshot", &s2]);
    assert_eq!(f.as_array().unwrap().len(), 1);
    assert_eq!(f[0]["snapshot"], s1.as_str());
    assert_eq!(f[0]["matches"][0]["type"], "dir");
    let text = env.ok(&["find", "*.csv", "-s", "latest"]);
    assert!(text.contains("no matches"), "{text}");
    let text = env.ok(&["find", "logo.txt"]);
    assert_eq!(text.matches("/shop/static/logo.txt").count(), 3, "{text}");

    // stats, restore-size: what was written.
    let st = env.json(&["stats", &s1]);
    assert_eq!(st["snapshots_processed"], 1);
    assert_eq!(st["total_size"], file_bytes(&before));
    assert_eq!(
        st["total_file_count"],
        before.values().filter(|e| !e.is_dir).count() as u64
    );
    // Every directory under the work folder, "shop" included.
    assert_eq!(
        st["total_dir_count"],
        before.values().filter(|e| e.is_dir).count() as u64
    );
    let all = env.json(&["stats"]);
    assert_eq!(all["snapshots_processed"], 3);
    assert_eq!(
        all["total_size"],
        file_bytes(&before) + 2 * file_bytes(&after)
    );

    // raw-data: two identical snapshots deduplicate to about half.
    let raw = env.json(&["stats", "--mode", "raw-data", &s2, &s3]);
    assert_eq!(raw["total_size"], 2 * file_bytes(&after));
    let dedup = raw["dedup_ratio"].as_f64().unwrap();
    assert!(dedup > 1.9 && dedup <= 2.0 + 1e-9, "{raw}");
    let stored = raw["total_stored_size"].as_u64().unwrap();
    let raw_size = raw["total_raw_size"].as_u64().unwrap();
    assert!(stored > 0 && raw_size > 0, "{raw}");
    assert!(raw["total_blob_count"].as_u64().unwrap() >= raw["data_blob_count"].as_u64().unwrap());
    assert!(raw["compression_ratio"].as_f64().unwrap() > 0.0);
    let one = env.json(&["stats", "--mode", "raw-data", &s2]);
    assert_eq!(one["total_raw_size"], raw["total_raw_size"]);
    let text = env.ok(&["stats", "--mode", "raw-data"]);
    assert!(text.contains("Deduplication ratio"), "{text}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let env = Work::new();
    write(&env.shop().join("a.txt"), b"a");
    let s1 = env.backup();
    let fails = |args: &[&str], msg: &str| {
        let out = env.cmd(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    };
    fails(&["diff", &s1, "ffffffff"], "no snapshot matches");
    fails(&["diff", &s1, "zz"], "not a snapshot ID");
    fails(
        &["diff", &format!("{s1}:shop/nope"), "latest"],
        "does not exist",
    );
    fails(
        &["diff", &format!("{s1}:shop/a.txt/x"), "latest"],
        "not a directory",
    );
    fails(
        &["find", "a.txt", "--snapshot", "ffffffff"],
        "no snapshot matches",
    );
    fails(&["find", "[", "--snapshot", "latest"], "invalid pattern");
    fails(&["stats", "ffffffff"], "no snapshot matches");
    fails(&["stats", "--mode", "bogus"], "invalid value");
    // Comparing a file with itself, and one snapshot with itself, is not an error.
    assert!(env.json(&["diff", "latest", "latest"])["changes"]
        .as_array()
        .unwrap()
        .is_empty());
    let v = env.json(&["diff", &format!("{s1}:shop/a.txt"), "latest:shop/a.txt"]);
    assert!(v["changes"].as_array().unwrap().is_empty());
}
