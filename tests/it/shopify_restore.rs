//! `shopify restore` against the fake store: a deleted product is recreated from an older
//! snapshot with its media (uploaded from the backed-up originals) and its manual collections,
//! its new ID is mapped and audited, and the next export shows it back; an edited product gets
//! its fields back and keeps its media; a theme file restore writes exactly that file; a dry run
//! writes nothing; customers and orders are refused with the reason.

use crate::shopify::{backup, contents, read_json, shop};
use crate::util::*;
use fake_shopify::FakeShop;
use serde_json::Value;
use std::fs;

/// `shopify restore SNAP ITEMS... --out export` against the fake; returns (exit code, stdout JSON
/// or text, stderr).
fn restore(
    env: &Env,
    fake: &FakeShop,
    snap: &str,
    items: &[&str],
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec!["shopify", "restore", snap];
    args.extend_from_slice(items);
    let url = fake.url();
    args.extend(["--out", "export", "--admin-url", &url]);
    args.extend_from_slice(extra);
    let out = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_panic(&err);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

#[test]
fn a_deleted_product_comes_back_with_its_media_and_collections_and_a_new_id() {
    let env = Env::init();
    let fake = shop(20);
    // A product with media in a manual collection.
    let (old, handle, media, collections) = fake.model(|s| {
        let p = s
            .products
            .values()
            .find(|p| {
                !p.media.is_empty()
                    && p.collections
                        .iter()
                        .any(|c| s.collections[c].rule_set.is_none())
            })
            .expect("a product with media in a manual collection");
        let media: Vec<Vec<u8>> = p.media.iter().map(|m| s.media[m].bytes.clone()).collect();
        (p.id, p.handle.clone(), media, p.collections.clone())
    });
    let before = backup(&env, &fake);
    let record = read_json(&env.path(&format!("export/products/{old}.json")));
    assert!(fake.delete_product(old));
    backup(&env, &fake);
    fake.reset_counters();

    let (code, out, err) = restore(
        &env,
        &fake,
        &before,
        &["product", &old.to_string()],
        &["--json"],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let item = &report["items"][0];
    assert_eq!(item["outcome"], "restored", "{report}");
    let new_gid = item["new_id"].as_str().expect("a new ID").to_string();
    let new: u64 = new_gid.rsplit('/').next().unwrap().parse().unwrap();
    assert_ne!(new, old);
    assert_eq!(fake.counters().staged_uploads, media.len() as u64);

    fake.model(|s| {
        let p = &s.products[&new];
        assert_eq!(p.handle, handle);
        assert_eq!(p.title, record["title"].as_str().unwrap());
        let prices: Vec<&str> = record["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["price"].as_str().unwrap())
            .collect();
        assert_eq!(
            p.variants
                .iter()
                .map(|v| v.price.as_str())
                .collect::<Vec<_>>(),
            prices
        );
        let bytes: Vec<&Vec<u8>> = p.media.iter().map(|m| &s.media[m].bytes).collect();
        assert_eq!(
            bytes,
            media.iter().collect::<Vec<_>>(),
            "the originals, in order"
        );
        for c in collections
            .iter()
            .filter(|c| s.collections[c].rule_set.is_none())
        {
            assert!(s.collections[c].products.contains(&new), "collection {c}");
        }
    });
    let ids = read_json(&env.path("export/.backstock-shopify/ids.json"));
    assert_eq!(
        ids[format!("gid://shopify/Product/{old}")],
        new_gid.as_str()
    );
    let audit = fs::read_to_string(env.path("export/.backstock-shopify/audit.jsonl")).unwrap();
    let line: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(line["snapshot"], before.as_str());
    assert_eq!(line["items"][0]["outcome"], "restored");
    assert!(line["user"].is_string() && line["time"].is_string());

    // The next backup holds it again, with its media, and keeps the map and the log; a diff
    // from before the deletion pairs the old ID and the new.
    let after = backup(&env, &fake);
    let diff = env.ok(["shopify", "diff", &before, &after]);
    assert!(
        diff.contains(&format!(
            "product {old} {} deleted (recreated as product {new})",
            record["title"].as_str().unwrap()
        )),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("(recreated from product {old})")),
        "{diff}"
    );
    let back = read_json(&env.path(&format!("export/products/{new}.json")));
    assert_eq!(back["handle"], handle.as_str());
    let files = contents(&env.path("export/media"));
    for m in &media {
        assert!(
            files.values().any(|b| b == m),
            "a medium is missing from the export"
        );
    }
    assert!(env.path("export/.backstock-shopify/ids.json").is_file());
    assert_eq!(
        fs::read_to_string(env.path("export/.backstock-shopify/audit.jsonl")).unwrap(),
        audit
    );
}

#[test]
fn an_edited_product_gets_its_fields_back_and_keeps_its_media() {
    let env = Env::init();
    let fake = shop(10);
    let (id, media_ids) = fake.model(|s| {
        let p = s.products.values().find(|p| !p.media.is_empty()).unwrap();
        (p.id, p.media.clone())
    });
    let before = backup(&env, &fake);
    let record = read_json(&env.path(&format!("export/products/{id}.json")));
    fake.model_mut(|s| {
        let p = s.products.get_mut(&id).unwrap();
        p.title = "Broken by a bad import".to_string();
        for v in &mut p.variants {
            v.price = "0.01".to_string();
        }
    });
    fake.reset_counters();
    let (code, out, err) = restore(&env, &fake, &before, &[&format!("products/{id}.json")], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("restored: products/{id}.json: updated")),
        "{out}"
    );
    assert_eq!(fake.counters().staged_uploads, 0);
    fake.model(|s| {
        let p = &s.products[&id];
        assert_eq!(p.title, record["title"].as_str().unwrap());
        for (v, r) in p
            .variants
            .iter()
            .zip(record["variants"].as_array().unwrap())
        {
            assert_eq!(v.price, r["price"].as_str().unwrap());
        }
        assert_eq!(p.media, media_ids, "the same media, not copies");
    });
    assert!(
        !env.path("export/.backstock-shopify/ids.json").exists(),
        "no ID changed"
    );
}

#[test]
fn a_theme_file_restore_writes_exactly_that_file() {
    let env = Env::init();
    let fake = shop(5);
    let (theme, a, b) = fake.model(|s| {
        let t = s.themes.values().find(|t| t.role == "MAIN").unwrap();
        let mut names = t.files.keys().filter(|n| n.ends_with(".liquid"));
        (
            t.id,
            names.next().unwrap().clone(),
            names.next().unwrap().clone(),
        )
    });
    let before = backup(&env, &fake);
    let files_before = fake.model(|s| s.themes[&theme].files.clone());
    fake.model_mut(|s| {
        let t = s.themes.get_mut(&theme).unwrap();
        t.files
            .insert(a.clone(), b"{% comment %}broken{% endcomment %}".to_vec());
        t.files.insert(b.clone(), b"also edited".to_vec());
    });
    let (code, _, err) = restore(
        &env,
        &fake,
        &before,
        &["theme", &format!("{theme}/{a}")],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    fake.model(|s| {
        let t = &s.themes[&theme];
        assert_eq!(t.files[&a], files_before[&a], "{a} is back");
        assert_eq!(t.files[&b], b"also edited", "{b} was not asked for");
        for (name, bytes) in &t.files {
            if name != &a && name != &b {
                assert_eq!(bytes, &files_before[name], "{name}");
            }
        }
        assert_eq!(t.files.len(), files_before.len());
    });
}

#[test]
fn a_dry_run_writes_nothing_and_people_are_not_written_back() {
    let env = Env::init();
    let fake = shop(8);
    let id = fake.model(|s| *s.products.keys().next().unwrap());
    let before = backup(&env, &fake);
    assert!(fake.delete_product(id));
    let store_before = fake.model(|s| (s.products.len(), s.media.len()));
    let (code, out, err) = restore(
        &env,
        &fake,
        &before,
        &["product", &id.to_string()],
        &["--dry-run"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("would restore") && out.contains("\"handle\""),
        "{out}"
    );
    assert_eq!(
        fake.model(|s| (s.products.len(), s.media.len())),
        store_before
    );
    assert_eq!(fake.counters().staged_uploads, 0);
    assert!(!env.path("export/.backstock-shopify/audit.jsonl").exists());

    let customer = fake.model(|s| *s.customers.keys().next().unwrap());
    let (code, out, err) = restore(
        &env,
        &fake,
        &before,
        &["customer", &customer.to_string()],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not restorable") && out.contains("customers and orders are not written back"),
        "{out}"
    );
    assert!(err.contains("1 of 1 items were not restored"), "{err}");
    let (code, _, err) = restore(&env, &fake, &before, &["gift-card", "1"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("names no item"), "{err}");
}

#[test]
fn a_product_can_be_restored_into_another_store() {
    let env = Env::init();
    let fake = shop(6);
    let other = crate::shopify::shop_with(fake_shopify::StoreParams {
        products: 3,
        seed: 99,
        ..Default::default()
    });
    let (id, handle, media) = fake.model(|s| {
        let p = s.products.values().find(|p| !p.media.is_empty()).unwrap();
        let media: Vec<Vec<u8>> = p.media.iter().map(|m| s.media[m].bytes.clone()).collect();
        (p.id, p.handle.clone(), media)
    });
    let before = backup(&env, &fake);
    let record = read_json(&env.path(&format!("export/products/{id}.json")));
    let url = other.url();
    let out = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args([
            "--json",
            "shopify",
            "restore",
            &before,
            "product",
            &id.to_string(),
        ])
        .args([
            "--out",
            "export",
            "--to-shop",
            "other-shop.myshopify.com",
            "--admin-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["shop"], "other-shop.myshopify.com");
    other.model(|s| {
        let p = s
            .products
            .values()
            .find(|p| p.handle == handle)
            .expect("the product in the other store");
        assert_eq!(p.title, record["title"].as_str().unwrap());
        let bytes: Vec<&Vec<u8>> = p.media.iter().map(|m| &s.media[m].bytes).collect();
        assert_eq!(bytes, media.iter().collect::<Vec<_>>());
    });
    // The first store was not written to.
    assert_eq!(fake.counters().staged_uploads, 0);
    let audit = fs::read_to_string(env.path("export/.backstock-shopify/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"shop\":\"other-shop.myshopify.com\""),
        "{audit}"
    );
}
