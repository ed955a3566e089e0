//! Tests of the model: determinism, shape, and what a day changes.

use crate::{advance_store, generate_store, Store, StoreParams};
use std::collections::{BTreeSet, HashSet};

/// Everything in the store, media bytes and theme files included, as one comparable value.
fn fingerprint(s: &Store) -> String {
    let media: Vec<(u64, &Vec<u8>)> = s.media.values().map(|m| (m.id, &m.bytes)).collect();
    let themes: Vec<(u64, &std::collections::BTreeMap<String, Vec<u8>>)> =
        s.themes.values().map(|t| (t.id, &t.files)).collect();
    serde_json::to_string(&(s, media, themes)).unwrap()
}

#[test]
fn generation_is_deterministic_and_seeded() {
    let p = StoreParams::default();
    let a = generate_store(&p);
    let b = generate_store(&p);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let c = generate_store(&StoreParams {
        seed: 8,
        ..p.clone()
    });
    assert_ne!(fingerprint(&a), fingerprint(&c));
    // One count does not reshuffle the other kinds.
    let d = generate_store(&StoreParams { orders: 3, ..p });
    assert_eq!(
        serde_json::to_string(&a.products).unwrap(),
        serde_json::to_string(&d.products).unwrap()
    );
}

#[test]
fn generated_store_has_the_documented_shape() {
    let s = generate_store(&StoreParams::default());
    assert_eq!(s.products.len(), 50);
    assert_eq!(s.customers.len(), 20);
    assert_eq!(s.orders.len(), 30);
    assert_eq!(s.shop.myshopify_domain, "fake.myshopify.com");
    assert_eq!(s.now(), "2026-11-01T09:00:00Z");
    let handles: HashSet<_> = s.products.values().map(|p| &p.handle).collect();
    assert_eq!(handles.len(), s.products.len(), "handles are unique");
    for p in s.products.values() {
        assert!(!p.variants.is_empty());
        assert!(p.updated_at <= s.now());
        for v in &p.variants {
            assert!(crate::model::parse_money(&v.price).is_some(), "{}", v.price);
            assert_eq!(v.price.split('.').nth(1).map(str::len), Some(2));
        }
        for m in &p.media {
            assert_eq!(s.media[m].product_id, p.id);
        }
        for c in &p.collections {
            assert!(s.collections[c].products.contains(&p.id));
        }
    }
    for m in s.media.values() {
        assert!(m.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert!(
            (2048..=40 * 1024).contains(&m.bytes.len()),
            "{}",
            m.bytes.len()
        );
        assert!(m.filename.ends_with(".jpg"));
    }
    assert!(s.collections.values().any(|c| c.rule_set.is_some()));
    assert!(s
        .collections
        .values()
        .any(|c| c.rule_set.is_none() && !c.products.is_empty()));
    let guests = s
        .orders
        .values()
        .filter(|o| o.customer_id.is_none())
        .count();
    assert!(guests < s.orders.len() / 2);
    let main = s.main_theme().unwrap();
    assert!(
        (15..=25).contains(&main.files.len()),
        "{}",
        main.files.len()
    );
    for name in [
        "layout/theme.liquid",
        "config/settings_data.json",
        "locales/en.default.json",
        "assets/base.css",
        "assets/theme.js",
    ] {
        assert!(main.files.contains_key(name), "{name}");
    }
    assert!(!crate::is_text(&main.files["assets/logo.png"]));
    assert_eq!(
        s.themes
            .values()
            .filter(|t| t.role == "UNPUBLISHED")
            .count(),
        1
    );
    // Customers' totals agree with their orders.
    for c in s.customers.values() {
        let orders: Vec<_> = s
            .orders
            .values()
            .filter(|o| o.customer_id == Some(c.id))
            .collect();
        assert_eq!(c.number_of_orders, orders.len() as u64);
        let spent: i64 = orders
            .iter()
            .map(|o| crate::model::parse_money(&o.total).unwrap())
            .sum();
        assert_eq!(c.amount_spent_cents, spent);
    }
}

#[test]
fn advance_is_deterministic_and_consistent() {
    let p = StoreParams {
        products: 400,
        customers: 100,
        ..StoreParams::default()
    };
    let mut a = generate_store(&p);
    let mut b = generate_store(&p);
    let mut seen_products: BTreeSet<u64> = a.products.keys().copied().collect();
    let mut seen_media: BTreeSet<u64> = a.media.keys().copied().collect();
    let mut totals = (0, 0, 0);
    for day in 1..=10u32 {
        let before = a.clone();
        let ca = advance_store(&mut a, &p);
        let cb = advance_store(&mut b, &p);
        assert_eq!(ca, cb);
        assert_eq!(a.day, day);
        let now = a.now();
        for id in &ca.products_edited {
            assert_eq!(a.products[id].updated_at, now);
            assert_ne!(a.products[id], before.products[id]);
        }
        for id in &ca.products_added {
            assert!(!seen_products.contains(id), "IDs are never reused");
            let product = &a.products[id];
            assert!((1..=3).contains(&product.media.len()));
            assert_eq!(product.created_at, now);
            for m in &product.media {
                assert!(ca.media_added.contains(m));
                assert!(!seen_media.contains(m));
            }
        }
        for id in &ca.products_deleted {
            assert!(!a.products.contains_key(id));
            for m in &before.products[id].media {
                assert!(!a.media.contains_key(m));
            }
            assert!(a.collections.values().all(|c| !c.products.contains(id)));
        }
        // Nothing else changed among the products.
        for (id, product) in &a.products {
            if !ca.products_edited.contains(id) && !ca.products_added.contains(id) {
                assert_eq!(Some(product), before.products.get(id));
            }
        }
        assert_eq!(ca.theme_files_edited.len(), 1);
        let (theme, file) = &ca.theme_files_edited[0];
        assert_ne!(
            a.themes[theme].files[file],
            before.themes[theme].files[file]
        );
        assert_eq!(ca.orders_added.len(), p.orders_per_day);
        for id in &ca.customers_edited {
            assert_eq!(a.customers[id].updated_at, now);
        }
        for id in &ca.orders_added {
            let o = &a.orders[id];
            assert!(o.created_at <= now && o.created_at > before.now());
        }
        seen_products.extend(a.products.keys());
        seen_media.extend(a.media.keys());
        totals.0 += ca.products_edited.len();
        totals.1 += ca.products_added.len();
        totals.2 += ca.products_deleted.len();
    }
    assert_eq!(fingerprint(&a), fingerprint(&b));
    // 2%, 0.5% and 0.2% of ~400 products a day, over 10 days.
    assert!((40..=120).contains(&totals.0), "{totals:?}");
    assert!((5..=40).contains(&totals.1), "{totals:?}");
    assert!((1..=25).contains(&totals.2), "{totals:?}");
}

#[test]
fn large_store_is_quick() {
    let start = std::time::Instant::now();
    let s = generate_store(&StoreParams {
        products: 5000,
        customers: 1000,
        orders: 2000,
        ..StoreParams::default()
    });
    let took = start.elapsed();
    assert_eq!(s.products.len(), 5000);
    let start = std::time::Instant::now();
    let query = crate::tests_http::queries::PRODUCTS;
    let ops = crate::bulk::BulkOps::default();
    let denied = Default::default();
    let Ok(result) = crate::bulk::run(&s, &ops, query, "http://127.0.0.1:1", &denied) else {
        panic!("bulk query refused");
    };
    let export = start.elapsed();
    assert_eq!(result.roots, 5000);
    println!(
        "5000 products: generated in {took:?}, JSONL ({} lines, {} bytes) in {export:?}",
        result.objects,
        result.jsonl.len()
    );
    assert!(export.as_secs_f64() < 10.0, "{export:?}");
    // Generous for debug builds on a shared machine; release takes a small fraction of this.
    assert!(took.as_secs_f64() < 10.0, "{took:?}");
}
