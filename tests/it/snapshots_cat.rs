//! `snapshots` (JSON fields, filters), snapshot ID prefixes, and `cat` of every object kind.

use crate::util::*;
use backstock::backend::LocalBackend;
use backstock::format::envelope::Kind;
use backstock::ids::storage_hash;
use backstock::repository::snapshots::SnapshotFilter;
use backstock::repository::{OpenOptions, Repository};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Two snapshots of `make_store`: host h1 tag daily at a given time, then host h2 tags weekly, extra.
fn two_snapshots() -> (Env, String, String) {
    let env = Env::init();
    make_store(&env.path("store"));
    let first = env.backup(&[
        "store",
        "--host",
        "h1",
        "--tag",
        "daily",
        "--time",
        "2024-01-02 03:04:05",
    ]);
    let second = env.backup(&["store", "--host", "h2", "--tag", "weekly", "--tag", "extra"]);
    (env, first, second)
}

fn ids_of(snaps: &[Value]) -> Vec<&str> {
    snaps.iter().map(|s| s["id"].as_str().unwrap()).collect()
}

#[test]
fn snapshots_json_has_the_fields_and_filters_work() {
    let (env, first, second) = two_snapshots();
    let all = env.snapshots(&[]);
    assert_eq!(
        ids_of(&all),
        [first.as_str(), second.as_str()],
        "oldest first"
    );
    for s in &all {
        assert!(is_hex_id(&s["id"]), "{s}");
        assert!(is_hex_id(&s["tree"]), "{s}");
        let id = s["id"].as_str().unwrap();
        assert_eq!(s["short_id"], id[..8], "{s}");
        assert!(s["time"].is_string(), "{s}");
        assert_eq!(s["paths"], json!([env.path("store")]), "{s}");
        let summary = &s["summary"];
        assert!(summary.is_object(), "{s}");
        for field in ["files_new", "bytes_added", "blobs_added", "files_failed"] {
            assert!(summary[field].is_u64(), "summary.{field} in {s}");
        }
    }
    assert_eq!(all[0]["hostname"], "h1");
    assert_eq!(all[0]["tags"], json!(["daily"]));
    assert_eq!(all[1]["hostname"], "h2");
    assert_eq!(all[1]["tags"], json!(["weekly", "extra"]));
    assert_eq!(all[0]["summary"]["files_new"], 12);

    // --time is local time.
    let t = chrono::DateTime::parse_from_rfc3339(all[0]["time"].as_str().unwrap()).unwrap();
    assert_eq!(
        t.with_timezone(&chrono::Local).naive_local().to_string(),
        "2024-01-02 03:04:05"
    );

    assert_eq!(
        ids_of(&env.snapshots(&["--tag", "daily"])),
        [first.as_str()]
    );
    assert_eq!(
        ids_of(&env.snapshots(&["--tag", "extra"])),
        [second.as_str()]
    );
    assert_eq!(ids_of(&env.snapshots(&["--host", "h2"])), [second.as_str()]);
    assert_eq!(
        ids_of(&env.snapshots(&["--host", "h1", "--tag", "weekly"])),
        Vec::<&str>::new()
    );
    assert_eq!(env.snapshots(&["--path", "store"]).len(), 2);
    assert!(env.snapshots(&["--tag", "none"]).is_empty());

    // The table lists both short IDs.
    let table = env.ok(["snapshots"]);
    assert!(
        table.contains(&first[..8]) && table.contains(&second[..8]),
        "{table}"
    );
}

#[test]
fn snapshot_id_prefixes() {
    let (env, first, _second) = two_snapshots();
    let prefix = &first[..8];
    let snap = env.json(["cat", "snapshot", prefix]);
    assert_eq!(snap["id"], first.as_str());
    assert_eq!(env.ls(prefix), env.ls(&first));
    assert_eq!(
        env.ok_bytes(["dump", prefix, "store/orders.csv"]),
        std::fs::read(env.path("store/orders.csv")).unwrap()
    );

    let unknown = ["00000000", "ffffffff", "12345678"]
        .into_iter()
        .find(|p| {
            env.snapshots(&[])
                .iter()
                .all(|s| !s["id"].as_str().unwrap().starts_with(p))
        })
        .unwrap();
    let err = env.fails(1, ["ls", unknown]);
    assert!(
        err.contains("no snapshot matches") && err.contains(unknown),
        "{err}"
    );
    let err = env.fails(1, ["ls", "xyz"]);
    assert!(err.contains("not a snapshot ID"), "{err}");
}

/// Adds copies of the latest snapshot (same content, fresh nonces, so new IDs) until two snapshot IDs
/// share their first four hex digits; returns that prefix. Only the colliding copy is written.
fn add_colliding_snapshot(env: &Env) -> String {
    let backend = Arc::new(LocalBackend::new(&env.repo));
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    let repo = Repository::open(backend, PASSWORD.as_bytes(), &opts).unwrap();
    let (id, snap) = repo
        .find_snapshot("latest", &SnapshotFilter::default())
        .unwrap();
    let payload = snap.encode().unwrap();
    let mut seen: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    seen.insert(id.to_hex()[..4].to_string(), None);
    loop {
        let bytes = repo.seal_file(Kind::Snapshot, &payload, false).unwrap();
        let name = hex::encode(storage_hash(&bytes));
        let prefix = name[..4].to_string();
        if let Some(other) = seen.get(&prefix) {
            for b in other.iter().chain([&bytes]) {
                let n = hex::encode(storage_hash(b));
                std::fs::write(env.repo.join("snapshots").join(n), b).unwrap();
            }
            return prefix;
        }
        seen.insert(prefix, Some(bytes));
    }
}

#[test]
fn ambiguous_prefix_is_refused() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);
    let prefix = add_colliding_snapshot(&env);
    let matching: Vec<String> = env
        .snapshots(&[])
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .filter(|id| id.starts_with(&prefix))
        .collect();
    assert_eq!(matching.len(), 2);
    let err = env.fails(1, ["ls", &prefix]);
    assert!(
        err.contains(&prefix) && err.contains("matches 2 snapshots"),
        "{err}"
    );
    // One more digit (when it tells them apart) picks one.
    if matching[0].as_bytes()[4] != matching[1].as_bytes()[4] {
        let snap = env.json(["cat", "snapshot", &matching[0][..5]]);
        assert_eq!(snap["id"], matching[0].as_str());
    }
}

#[test]
fn cat_prints_json_for_every_object_kind() {
    let env = Env::init();
    make_store(&env.path("store"));
    env.backup(&["store"]);

    let config = env.json(["cat", "config"]);
    assert!(is_hex_id(&config["id"]), "{config}");
    assert_eq!(config["version"], 2);
    assert!(
        config["pack_size"].is_u64() && config["chunker"].is_object(),
        "{config}"
    );

    let snap = env.json(["cat", "snapshot", "latest"]);
    assert!(is_hex_id(&snap["id"]) && is_hex_id(&snap["tree"]), "{snap}");
    assert_eq!(snap["paths"], json!([env.path("store")]));

    let root = env.tree_nodes(snap["tree"].as_str().unwrap());
    assert_eq!(root.len(), 1);
    assert_eq!(root[0]["name"], "store");
    assert_eq!(root[0]["type"], "dir");
    // A directory's nodes may span several tree blobs.
    let store: Vec<Value> = root[0]["content"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|id| env.tree_nodes(id.as_str().unwrap()))
        .collect();
    let names: Vec<&str> = store.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "cache",
            "draft.tmp",
            "orders.csv",
            "products",
            "products.jsonl",
            "theme"
        ]
    );

    let indexes = env.names_in("index");
    assert!(!indexes.is_empty());
    let mut packs_in_index = Vec::new();
    for id in &indexes {
        let index = env.json(["cat", "index", id]);
        for p in index["packs"].as_array().expect("index lists packs") {
            packs_in_index.push(p["id"].as_str().unwrap().to_string());
        }
    }
    let packs = env.packs();
    let mut pack_ids: Vec<String> = packs
        .iter()
        .map(|(_, info)| info["id"].as_str().unwrap().to_string())
        .collect();
    pack_ids.sort();
    packs_in_index.sort();
    assert_eq!(
        pack_ids, packs_in_index,
        "index lists exactly the packs in data/"
    );
    for (path, info) in &packs {
        assert_eq!(info["size"], std::fs::metadata(path).unwrap().len());
        assert!(!info["blobs"].as_array().unwrap().is_empty(), "{info}");
    }

    let keys = env.names_in("keys");
    assert_eq!(keys.len(), 1);
    let key = env.json(["cat", "key", &keys[0]]);
    assert_eq!(key["kdf"]["algorithm"], "argon2id", "{key}");

    let err = env.fails(1, ["cat", "nonsense"]);
    assert!(err.contains("nonsense"), "{err}");
}
