//! `shopify diff` and `shopify history` over snapshots made by `shopify backup` of the fake store:
//! the diff between two days names exactly the items the store model changed, with the fields
//! that changed, and the history of an item lists each of its versions.

use crate::shopify::{backup, shop_with, SHOP};
use crate::util::*;
use fake_shopify::{FakeShop, StoreParams};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A store that changes a lot each day, so that one day has edits, additions and deletions.
fn busy_shop() -> FakeShop {
    shop_with(StoreParams {
        products: 40,
        customers: 15,
        orders: 20,
        seed: 23,
        edit_rate: 0.2,
        add_rate: 0.08,
        delete_rate: 0.08,
        customer_edit_rate: 0.2,
        orders_per_day: 4,
    })
}

/// The items of a `shopify diff --json`, kind and ID to the item.
fn items(diff: &Value) -> BTreeMap<(String, String), Value> {
    diff["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let k = (
                i["kind"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            );
            (k, i.clone())
        })
        .collect()
}

/// The IDs of items of `kind` whose change is `change`.
fn ids(items: &BTreeMap<(String, String), Value>, kind: &str, change: &str) -> BTreeSet<u64> {
    items
        .iter()
        .filter(|((k, _), v)| k == kind && v["change"] == change)
        .map(|((_, id), _)| id.parse().unwrap())
        .collect()
}

#[test]
fn a_diff_between_two_days_names_exactly_the_items_the_store_changed() {
    let env = Env::init();
    let fake = busy_shop();
    let before = backup(&env, &fake);
    let prices: BTreeMap<u64, String> = fake.model(|s| {
        s.products
            .values()
            .flat_map(|p| p.variants.iter().map(|v| (v.id, v.price.clone())))
            .collect()
    });
    let variants_of: BTreeMap<u64, Vec<u64>> = fake.model(|s| {
        s.products
            .values()
            .map(|p| (p.id, p.variants.iter().map(|v| v.id).collect()))
            .collect()
    });
    let day = fake.advance();
    let gone_variants: BTreeSet<u64> = day
        .products_deleted
        .iter()
        .flat_map(|p| variants_of[p].clone())
        .collect();
    assert!(
        !day.products_edited.is_empty()
            && !day.products_added.is_empty()
            && !day.products_deleted.is_empty(),
        "the seed should give edits, additions and deletions: {day:?}"
    );
    let after = backup(&env, &fake);
    let diff = env.json(["--json", "shopify", "diff", &before, &after]);
    assert_eq!(diff["old"], before.as_str());
    let items = items(&diff);

    assert_eq!(ids(&items, "product", "changed"), day.products_edited);
    assert_eq!(ids(&items, "product", "added"), day.products_added);
    assert_eq!(ids(&items, "product", "deleted"), day.products_deleted);
    assert_eq!(ids(&items, "medium", "added"), day.media_added);
    assert!(ids(&items, "medium", "changed").is_empty());
    assert_eq!(ids(&items, "order", "added"), day.orders_added);
    // An order whose line points at a variant of a deleted product loses the link (Shopify's
    // `variant` becomes null): that order changed, and no other.
    let gone: BTreeSet<u64> = gone_variants;
    let unlinked: BTreeSet<u64> = fake.model(|s| {
        s.orders
            .values()
            .filter(|o| !day.orders_added.contains(&o.id))
            .filter(|o| o.line_items.iter().any(|l| gone.contains(&l.variant_id)))
            .map(|o| o.id)
            .collect()
    });
    assert_eq!(ids(&items, "order", "changed"), unlinked);
    for id in &unlinked {
        let fields = &items[&("order".to_string(), id.to_string())]["fields"];
        assert!(
            fields.as_array().unwrap().iter().all(|f| f["field"]
                .as_str()
                .unwrap()
                .ends_with(" variant")
                && f["new"].is_null()),
            "{fields}"
        );
    }
    assert!(ids(&items, "order", "deleted").is_empty());
    assert_eq!(ids(&items, "customer", "added"), day.customers_added);
    assert_eq!(ids(&items, "customer", "changed"), day.customers_edited);
    let theme_files: BTreeSet<String> = items
        .keys()
        .filter(|(k, _)| k == "theme file")
        .map(|(_, id)| id.clone())
        .collect();
    let edited: BTreeSet<String> = day
        .theme_files_edited
        .iter()
        .map(|(t, f)| format!("{t}/{f}"))
        .collect();
    assert_eq!(theme_files, edited);
    assert_eq!(ids(&items, "article", "changed"), day.articles_edited);
    assert_eq!(ids(&items, "article", "added"), day.articles_added);
    assert_eq!(
        ids(&items, "inventory item", "changed"),
        day.inventory_items_edited
    );
    assert_eq!(
        ids(&items, "inventory item", "added"),
        day.inventory_items_added
    );
    assert_eq!(
        ids(&items, "inventory item", "deleted"),
        day.inventory_items_deleted
    );
    let objects: BTreeSet<u64> = items
        .iter()
        .filter(|((k, _), _)| k == "metaobject")
        .map(|((_, id), _)| id.rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(objects, day.metaobjects_edited);
    for f in &edited {
        let lines = &items[&("theme file".to_string(), f.clone())]["lines"];
        assert!(
            lines[0].as_u64().unwrap() + lines[1].as_u64().unwrap() > 0,
            "{f}: {lines}"
        );
    }

    // An edited product's price changes are told per variant, with both prices.
    fake.model(|s| {
        for id in &day.products_edited {
            let item = &items[&("product".to_string(), id.to_string())];
            let fields = item["fields"].as_array().unwrap();
            for v in &s.products[id].variants {
                let was = &prices[&v.id];
                let told = fields
                    .iter()
                    .find(|f| f["field"] == format!("variant {} price", v.sku));
                if *was == v.price {
                    assert!(told.is_none(), "product {id}: {fields:?}");
                } else {
                    let f = told
                        .unwrap_or_else(|| panic!("product {id} variant {}: {fields:?}", v.sku));
                    assert_eq!(
                        (f["old"].as_str().unwrap(), f["new"].as_str().unwrap()),
                        (was.as_str(), v.price.as_str())
                    );
                }
            }
        }
    });

    // The text form says the same in words.
    let text = env.ok(["shopify", "diff", &before, &after]);
    let deleted = day.products_deleted.iter().next().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("product {deleted} ")) && l.ends_with(" deleted")),
        "{text}"
    );
    let (t, f) = &day.theme_files_edited[0];
    assert!(
        text.contains(&format!("theme {t} {f} changed (+")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} changed, {} added, {} deleted",
            items.values().filter(|i| i["change"] == "changed").count(),
            items.values().filter(|i| i["change"] == "added").count(),
            items.values().filter(|i| i["change"] == "deleted").count()
        )),
        "{text}"
    );
}

#[test]
fn history_lists_each_version_of_an_item_with_what_changed() {
    let env = Env::init();
    let fake = busy_shop();
    let first = backup(&env, &fake);
    let day1 = fake.advance();
    let second = backup(&env, &fake);
    fake.advance();
    let third = backup(&env, &fake);

    let edited = *day1.products_edited.iter().next().unwrap();
    let h = env.json([
        "--json",
        "shopify",
        "history",
        "product",
        &edited.to_string(),
    ]);
    let h = h.as_array().unwrap();
    assert!(h.len() >= 2, "{h:?}");
    assert_eq!(
        (h[0]["snapshot"].as_str(), h[0]["change"].as_str()),
        (Some(first.as_str()), Some("added"))
    );
    assert_eq!(
        (h[1]["snapshot"].as_str(), h[1]["change"].as_str()),
        (Some(second.as_str()), Some("changed"))
    );
    assert!(!h[1]["fields"].as_array().unwrap().is_empty());
    assert!(h.iter().all(|v| v["kind"] == "product"));

    let deleted = *day1.products_deleted.iter().next().unwrap();
    let h = env.json([
        "--json",
        "shopify",
        "history",
        &format!("products/{deleted}.json"),
        "--host",
        SHOP,
    ]);
    let changes: Vec<(&str, &str)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["snapshot"].as_str().unwrap(),
                v["change"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [(first.as_str(), "added"), (second.as_str(), "deleted")]
    );
    let text = env.ok(["shopify", "history", "product", &deleted.to_string()]);
    assert!(
        text.contains("2 versions") && text.contains(&second[..8]),
        "{text}"
    );
    let _ = third;

    let e = env.fails(1, ["shopify", "history", "gift-card", "1"]);
    assert!(e.contains("names no item"), "{e}");
    let e = env.fails(1, ["shopify", "diff", &first, "nosuch"]);
    assert_no_panic(&e);
}

#[test]
fn a_snapshot_that_is_not_an_export_is_refused_by_name() {
    let env = Env::init();
    write(&env.path("a/x"), "x");
    write(&env.path("b/y"), "y");
    let id = env.backup(&["a", "b"]);
    let e = env.fails(1, ["shopify", "diff", &id, &id]);
    assert!(
        e.contains("holds 2 paths") && e.contains("shopify backup"),
        "{e}"
    );
}
