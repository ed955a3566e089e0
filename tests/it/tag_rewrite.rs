//! `tag --add/--remove/--set` (only snapshot files change) and `rewrite --exclude [--forget]`
//! (new snapshots without the matching paths; with `forget` and `prune`, none of their bytes left
//! anywhere in the repository).

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

fn tags_of(env: &Env) -> BTreeSet<Vec<String>> {
    env.snapshots(&[])
        .iter()
        .map(|s| {
            s["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// Repository files outside `snapshots/`.
fn not_snapshots(env: &Env) -> Vec<(PathBuf, Vec<u8>)> {
    env.repo_contents()
        .into_iter()
        .filter(|(p, _)| {
            !p.starts_with(env.repo.join("snapshots")) && !p.starts_with(env.repo.join("locks"))
        })
        .collect()
}

#[test]
fn tags_change_in_the_snapshot_files_only() {
    let env = Env::init();
    write(&env.path("src/f"), "f");
    let first = env.backup(&["--tag", "daily", "src"]);
    env.backup(&["--tag", "daily,keep", "src"]);
    let before = not_snapshots(&env);
    let out = env.json([
        "--json",
        "tag",
        "--add",
        "shop,audited",
        "--remove",
        "daily",
        &first[..8],
    ]);
    let changed = out["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{out}");
    assert_eq!(changed[0]["old"], first.as_str());
    let new = changed[0]["new"].as_str().unwrap();
    assert_eq!(
        tags_of(&env),
        BTreeSet::from([
            vec!["shop".to_string(), "audited".into()],
            vec!["daily".to_string(), "keep".into()]
        ])
    );
    assert_eq!(
        not_snapshots(&env),
        before,
        "tag changed more than snapshot files"
    );
    let snap = env.json(["cat", "snapshot", new]);
    assert_eq!(snap["original"], first.as_str());
    let e = env.fails(1, ["cat", "snapshot", &first]);
    assert!(
        e.contains("no snapshot") || e.contains("not found") || e.contains("No such"),
        "{e}"
    );
    // --set on the snapshots a filter selects; a snapshot already so is left alone.
    env.ok(["tag", "--set", "weekly", "--tag", "keep"]);
    assert!(tags_of(&env).contains(&vec!["weekly".to_string()]));
    let again = env.json(["--json", "tag", "--set", "weekly", "--tag", "weekly"]);
    assert_eq!(again["changed"], serde_json::json!([]));
    let e = env.fails(1, ["tag", "latest"]);
    assert!(e.contains("give --add, --remove or --set"), "{e}");
}

/// Everything the customer's files were made of, by blob ID.
fn blobs_below(env: &Env, snap: &str, path: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let node = env.node(snap, path);
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        for id in ids(&n["content"]) {
            out.insert(id.clone());
            if n["type"] == "dir" {
                todo.extend(env.tree_nodes(&id));
            }
        }
    }
    out
}

#[test]
fn rewrite_removes_paths_from_every_snapshot_and_prune_removes_their_bytes() {
    let env = Env::init();
    let shop = env.path("shop");
    write(
        &shop.join("customers/1201/record.json"),
        product_json("customer 1201 Jane Doe", 4000),
    );
    write(
        &shop.join("customers/1201/addresses.json"),
        product_json("1201 Elm Street", 2000),
    );
    write(
        &shop.join("customers/1202/record.json"),
        product_json("customer 1202", 4000),
    );
    write(&shop.join("products/1.json"), product_json("mug", 5000));
    let s1 = env.backup(&["shop"]);
    write(&shop.join("products/2.json"), product_json("hat", 5000));
    let s2 = env.backup(&["shop"]);
    let secret = blobs_below(&env, &s1, "shop/customers/1201");
    assert!(secret.len() >= 3, "{secret:?}");
    let products_tree = env.node(&s2, "shop/products")["content"].clone();

    // A dry run names what would go and changes nothing.
    let before = env.repo_contents();
    let dry = env.json([
        "--json",
        "rewrite",
        "--exclude",
        "customers/1201",
        "--dry-run",
    ]);
    assert_eq!(env.repo_contents(), before);
    let would: Vec<&Value> = dry["rewritten"].as_array().unwrap().iter().collect();
    assert_eq!(would.len(), 2);
    assert_eq!(
        would[0]["removed"],
        serde_json::json!(["/shop/customers/1201"])
    );

    let done = env.json([
        "--json",
        "rewrite",
        "--exclude",
        "customers/1201",
        "--forget",
    ]);
    assert_eq!(done["rewritten"].as_array().unwrap().len(), 2, "{done}");
    let snaps = env.snapshots(&[]);
    assert_eq!(snaps.len(), 2);
    for s in &snaps {
        assert!(s["tags"].as_array().unwrap().iter().any(|t| t == "rewrite"));
    }
    env.ok(["prune", "--max-unused", "0"]);
    // No snapshot lists the customer, none restores a byte of them, and no pack holds their blobs.
    for s in &snaps {
        let id = s["id"].as_str().unwrap();
        let ls = env.ls(id);
        assert!(!ls.iter().any(|l| l.contains("1201")), "{ls:?}");
        assert!(ls.iter().any(|l| l.ends_with("customers/1202/record.json")));
        let t = env.dir(&format!("r-{}", &id[..8]));
        env.restore(id, &t, &[]);
        assert_eq!(
            fs::read(t.join("shop/products/1.json")).unwrap(),
            fs::read(shop.join("products/1.json")).unwrap()
        );
        assert!(!t.join("shop/customers/1201").exists());
    }
    let found = env.json(["--json", "find", "1201"]);
    assert_eq!(found, serde_json::json!([]));
    for (_, pack) in env.packs() {
        for b in pack["blobs"].as_array().unwrap() {
            assert!(
                !secret.contains(b["id"].as_str().unwrap()),
                "blob {} of the customer remains",
                b["id"]
            );
        }
    }
    env.ok(["check", "--read-data"]);
    // Only directories on the way were rewritten: products keeps its tree.
    let latest = env.snapshots(&[]).last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.node(&latest, "shop/products")["content"], products_tree);
    let e = env.fails(1, ["rewrite"]);
    assert!(e.contains("--exclude"), "{e}");
}
