//! Tests of the generated blogs, menus, metaobjects, locations, inventory and files, and of what
//! a day does to them.

use crate::model::*;
use crate::{advance_store, generate_store, StoreParams};
use std::collections::BTreeSet;

/// The entities added after the catalogue, as one comparable value.
fn new_entities(s: &Store) -> String {
    let files: Vec<(u64, &Vec<u8>)> = s.files.values().map(|f| (f.id, &f.bytes)).collect();
    serde_json::to_string(&(
        (&s.blogs, &s.articles, &s.menus),
        (&s.metaobject_definitions, &s.metaobjects),
        (&s.locations, &s.inventory, &s.files, files),
    ))
    .unwrap()
}

fn menu_items(items: &[MenuItem], depth: usize, out: &mut Vec<(usize, MenuItem)>) {
    for i in items {
        out.push((depth, i.clone()));
        menu_items(&i.items, depth + 1, out);
    }
}

/// Every item of every menu with its depth (1 = top level).
pub(crate) fn all_items(s: &Store) -> Vec<(usize, MenuItem)> {
    let mut out = Vec::new();
    for m in s.menus.values() {
        menu_items(&m.items, 1, &mut out);
    }
    out
}

/// Whether the resource a GID names exists.
pub(crate) fn exists(s: &Store, gid: &str) -> bool {
    let (ty, id) = gid
        .strip_prefix("gid://shopify/")
        .and_then(|r| r.split_once('/'))
        .unwrap();
    let id: u64 = id.parse().unwrap();
    match ty {
        "Product" => s.products.contains_key(&id),
        "Collection" => s.collections.contains_key(&id),
        "Page" => s.pages.contains_key(&id),
        "Blog" => s.blogs.contains_key(&id),
        "Article" => s.articles.contains_key(&id),
        "Metaobject" => s.metaobjects.contains_key(&id),
        other => panic!("unexpected resource type {other}"),
    }
}

/// The inventory agrees with the variants.
pub(crate) fn assert_inventory_consistent(s: &Store) {
    let mut items = BTreeSet::new();
    for p in s.products.values() {
        for v in &p.variants {
            let item = &s.inventory[&v.inventory_item_id];
            assert_eq!((item.product_id, item.variant_id), (p.id, v.id));
            assert_eq!(item.levels.len(), s.locations.len());
            let sum: i64 = item.levels.iter().map(|l| l.available).sum();
            assert_eq!(sum, v.inventory_quantity, "variant {}", v.id);
            for l in &item.levels {
                assert!(s.locations.contains_key(&l.location_id));
                assert_eq!(l.on_hand(), l.available + l.committed + l.reserved);
            }
            items.insert(item.id);
        }
    }
    assert_eq!(items, s.inventory.keys().copied().collect());
}

#[test]
fn new_entities_have_the_documented_shape() {
    let s = generate_store(&StoreParams::default());
    assert_eq!(s.blogs.len(), 2);
    assert_eq!(
        s.blogs
            .values()
            .map(|b| b.handle.as_str())
            .collect::<Vec<_>>(),
        ["news", "journal"]
    );
    for b in s.blogs.values() {
        let articles: Vec<&Article> = s.articles.values().filter(|a| a.blog_id == b.id).collect();
        assert_eq!(articles.len(), 5);
        let handles: BTreeSet<&str> = articles.iter().map(|a| a.handle.as_str()).collect();
        assert_eq!(handles.len(), 5);
        for a in articles {
            assert!(a.body.starts_with("<p>"));
            assert!(!a.author_name.is_empty());
            assert_eq!(
                a.is_published,
                a.published_at
                    .as_deref()
                    .is_some_and(|p| p <= s.now().as_str())
            );
        }
    }
    assert!(
        s.articles
            .values()
            .any(|a| !a.is_published && a.published_at.is_some()),
        "scheduled"
    );
    assert!(s.articles.values().any(|a| a.image.is_some()));
    assert!(s.articles.values().any(|a| !a.metafields.is_empty()));
    assert!(s.blogs.values().any(|b| !b.metafields.is_empty()));

    let handles: Vec<&str> = s.menus.values().map(|m| m.handle.as_str()).collect();
    assert_eq!(handles, ["main-menu", "footer"]);
    let items = all_items(&s);
    assert!(items.iter().any(|(d, _)| *d == 3), "three levels");
    assert!(items.iter().all(|(d, _)| *d <= 3));
    let mut types = BTreeSet::new();
    for (_, i) in &items {
        types.insert(i.item_type.clone());
        if let Some(r) = &i.resource_id {
            assert!(exists(&s, r), "{r}");
        }
    }
    for t in [
        "FRONTPAGE",
        "CATALOG",
        "COLLECTION",
        "PRODUCT",
        "PAGE",
        "BLOG",
        "ARTICLE",
        "HTTP",
        "SEARCH",
    ] {
        assert!(types.contains(t), "{t}");
    }

    let types: Vec<&str> = s
        .metaobject_definitions
        .values()
        .map(|d| d.type_name.as_str())
        .collect();
    assert_eq!(types, ["designer", "faq"]);
    for d in s.metaobject_definitions.values() {
        let entries: Vec<&Metaobject> = s
            .metaobjects
            .values()
            .filter(|m| m.type_name == d.type_name)
            .collect();
        assert!((3..=4).contains(&entries.len()));
        for m in entries {
            for fd in d.field_definitions.iter().filter(|f| f.required) {
                assert!(m
                    .fields
                    .iter()
                    .any(|f| f.key == fd.key && f.value.is_some()));
            }
        }
    }

    assert_eq!(s.locations.len(), 2);
    assert_inventory_consistent(&s);
    assert!(s
        .inventory
        .values()
        .any(|i| i.levels[1].available > 0 && i.levels[0].available > 0));

    assert_eq!(s.files.len(), 3);
    for f in s.files.values() {
        assert!(f.bytes.starts_with(b"%PDF-1.4"));
        assert!(f.bytes.ends_with(b"%%EOF\n"));
        assert_eq!(f.mime_type, "application/pdf");
    }
}

#[test]
fn new_entities_are_deterministic_and_seeded() {
    let p = StoreParams::default();
    assert_eq!(
        new_entities(&generate_store(&p)),
        new_entities(&generate_store(&p))
    );
    let other = generate_store(&StoreParams {
        seed: 8,
        ..p.clone()
    });
    assert_ne!(new_entities(&generate_store(&p)), new_entities(&other));
    let (mut a, mut b) = (generate_store(&p), generate_store(&p));
    for _ in 0..5 {
        assert_eq!(advance_store(&mut a, &p), advance_store(&mut b, &p));
    }
    assert_eq!(new_entities(&a), new_entities(&b));
}

#[test]
fn a_day_changes_content_and_inventory_consistently() {
    let p = StoreParams {
        products: 80,
        edit_rate: 0.2,
        add_rate: 0.05,
        delete_rate: 0.05,
        ..StoreParams::default()
    };
    let mut s = generate_store(&p);
    let mut seen_articles: BTreeSet<u64> = s.articles.keys().copied().collect();
    let mut totals = [0usize; 7];
    for _ in 0..25 {
        let before = s.clone();
        let c = advance_store(&mut s, &p);
        let now = s.now();
        assert_inventory_consistent(&s);
        for (_, i) in all_items(&s) {
            if let Some(r) = &i.resource_id {
                assert!(exists(&s, r), "menu links to deleted {r}");
            }
        }
        for id in &c.menus_edited {
            assert_ne!(s.menus.get(id), before.menus.get(id));
        }
        for (id, m) in &s.menus {
            if !c.menus_edited.contains(id) {
                assert_eq!(Some(m), before.menus.get(id));
            }
        }
        for id in &c.articles_edited {
            assert_eq!(s.articles[id].updated_at, now);
            assert_ne!(s.articles[id], before.articles[id]);
        }
        for id in &c.articles_added {
            assert!(!seen_articles.contains(id), "IDs are never reused");
            assert!(s.blogs.contains_key(&s.articles[id].blog_id));
        }
        for (id, a) in &s.articles {
            if !c.articles_edited.contains(id) && !c.articles_added.contains(id) {
                assert_eq!(Some(a), before.articles.get(id));
            }
        }
        for id in &c.metaobjects_edited {
            assert_eq!(s.metaobjects[id].updated_at, now);
            assert_ne!(s.metaobjects[id], before.metaobjects[id]);
        }
        for id in &c.inventory_items_deleted {
            assert!(before.inventory.contains_key(id) && !s.inventory.contains_key(id));
        }
        let deleted_items: BTreeSet<u64> = c
            .products_deleted
            .iter()
            .flat_map(|p| {
                before.products[p]
                    .variants
                    .iter()
                    .map(|v| v.inventory_item_id)
            })
            .collect();
        assert_eq!(deleted_items, c.inventory_items_deleted);
        let added_items: BTreeSet<u64> = c
            .products_added
            .iter()
            .flat_map(|p| s.products[p].variants.iter().map(|v| v.inventory_item_id))
            .collect();
        assert_eq!(added_items, c.inventory_items_added);
        for (id, item) in &s.inventory {
            if !c.inventory_items_edited.contains(id) && !c.inventory_items_added.contains(id) {
                assert_eq!(Some(item), before.inventory.get(id));
            }
        }
        // A quantity change lands on the first location.
        for id in &c.products_edited {
            for v in &s.products[id].variants {
                let (old, new) = (
                    &before.inventory[&v.inventory_item_id],
                    &s.inventory[&v.inventory_item_id],
                );
                if new.levels[0].available > 0 {
                    assert_eq!(old.levels[1..], new.levels[1..]);
                }
            }
        }
        seen_articles.extend(s.articles.keys());
        for (k, n) in [
            c.articles_edited.len(),
            c.articles_added.len(),
            c.metaobjects_edited.len(),
            c.menus_edited.len(),
            c.inventory_items_added.len(),
            c.inventory_items_edited.len(),
            c.inventory_items_deleted.len(),
        ]
        .into_iter()
        .enumerate()
        {
            totals[k] += n;
        }
    }
    for (k, n) in totals.iter().enumerate() {
        if k != 3 {
            assert!(*n > 0, "{totals:?}");
        }
    }
}

#[test]
fn deleting_a_linked_product_removes_its_menu_items() {
    let mut s = generate_store(&StoreParams::default());
    let (menu, product) = all_items(&s)
        .into_iter()
        .find(|(_, i)| i.item_type == "PRODUCT")
        .map(|(_, i)| {
            let menu = s
                .menus
                .values()
                .find(|m| {
                    let mut v = Vec::new();
                    menu_items(&m.items, 1, &mut v);
                    v.iter().any(|(_, x)| x.id == i.id)
                })
                .unwrap()
                .id;
            (menu, i.resource_id.unwrap())
        })
        .unwrap();
    let id: u64 = product.rsplit('/').next().unwrap().parse().unwrap();
    let items = s.products[&id]
        .variants
        .iter()
        .map(|v| v.inventory_item_id)
        .collect::<Vec<_>>();
    assert!(s.delete_product(id));
    assert!(all_items(&s)
        .iter()
        .all(|(_, i)| i.resource_id.as_deref() != Some(product.as_str())));
    assert!(s.menus.contains_key(&menu));
    for i in items {
        assert!(!s.inventory.contains_key(&i));
    }
    // Deleting a collection takes its nested product item with it.
    let collection = all_items(&s)
        .into_iter()
        .find(|(_, i)| i.item_type == "COLLECTION" && i.tags.is_empty())
        .map(|(_, i)| i.resource_id.unwrap())
        .unwrap();
    assert!(s.delete(&collection));
    assert!(all_items(&s)
        .iter()
        .all(|(_, i)| i.resource_id.as_deref() != Some(collection.as_str())));
    assert!(s.products.values().all(|p| !p
        .collections
        .iter()
        .any(|c| collection.ends_with(&format!("/{c}")))));
    assert!(!s.delete(&collection), "already gone");
    assert!(!s.delete("gid://shopify/Customer/1"));
    assert!(!s.delete("nonsense"));
}

#[test]
fn large_store_inventory_and_files_are_quick() {
    let p = StoreParams {
        products: 5000,
        customers: 10,
        orders: 10,
        ..StoreParams::default()
    };
    let mut s = generate_store(&p);
    let start = std::time::Instant::now();
    advance_store(&mut s, &p);
    let advance = start.elapsed();
    let ops = crate::bulk::BulkOps::default();
    let denied = Default::default();
    let start = std::time::Instant::now();
    let inventory = "{ inventoryItems { edges { node { id sku variant { id } inventoryLevels { edges { node { id \
        location { id } quantities(names: [\"available\", \"on_hand\"]) { name quantity } } } } } } } }";
    let files = "{ files { edges { node { id ... on MediaImage { image { url } } ... on GenericFile { url } } } } }";
    for q in [inventory, files] {
        let Ok(r) = crate::bulk::run(&s, &ops, q, "http://127.0.0.1:1", &denied) else {
            panic!("refused: {q}");
        };
        assert!(r.roots > 5000);
    }
    let export = start.elapsed();
    println!("5000 products: a day in {advance:?}, inventory and files JSONL in {export:?}");
    assert!(advance.as_secs_f64() < 5.0, "{advance:?}");
    assert!(export.as_secs_f64() < 10.0, "{export:?}");
}
