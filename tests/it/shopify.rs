//! `shopify export` and `shopify backup` against the fake Admin API (crates/fake-shopify): the
//! export equals the store model, an unchanged store costs no media or theme downloads, throttling
//! and failed bulk operations are retried, and a failed run leaves the previous export as it was.

use crate::util::*;
use fake_shopify::{FakeShop, ServerOptions, StoreParams};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

pub const SHOP: &str = "fake.myshopify.com";

pub fn shop(products: usize) -> FakeShop {
    shop_with(StoreParams {
        products,
        customers: 12,
        orders: 25,
        seed: 11,
        ..Default::default()
    })
}

/// A fake store from `params`, its 429s asking for a 50 ms pause.
pub fn shop_with(params: StoreParams) -> FakeShop {
    let options = ServerOptions {
        retry_after: "0.05".to_string(),
        ..Default::default()
    };
    FakeShop::start(params, options).expect("starting the fake store")
}

/// The arguments of `shopify export` into `<tmp>/<out>` from `fake`.
pub fn export_args(fake: &FakeShop, out: &str) -> Vec<String> {
    [
        "--json",
        "shopify",
        "export",
        "--shop",
        SHOP,
        "--out",
        out,
        "--admin-url",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([fake.url()])
    .collect()
}

/// `shopify backup` of the fake store into `<tmp>/export`; returns the new snapshot's ID.
pub fn backup(env: &Env, fake: &FakeShop) -> String {
    let mut args = export_args(fake, "export");
    args[2] = "backup".to_string();
    let out = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    env.snapshots(&["--host", SHOP]).last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Runs `shopify export` and returns its report; asserts exit 0.
fn export(env: &Env, fake: &FakeShop, out: &str) -> Value {
    let args = export_args(fake, out);
    let o = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "shpat_test")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs `shopify export ... EXTRA` with `token`, expecting exit `code`; returns stderr.
fn export_fails(
    env: &Env,
    fake: &FakeShop,
    out: &str,
    token: &str,
    code: i32,
    extra: &[&str],
) -> String {
    let mut args = export_args(fake, out);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", token)
        .args(&args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert_no_panic(&err);
    err
}

pub fn read_json(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the files in `dir` (none if it does not exist).
fn names(dir: &Path) -> BTreeSet<String> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

pub fn gid_number(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a GID: {v}"));
    s.rsplit('/').next().unwrap().parse().unwrap()
}

/// Every file of the export, relative path to bytes.
pub fn contents(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    files_under(root)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            (rel, fs::read(&p).unwrap())
        })
        .collect()
}

/// The entities beyond the catalog: blogs and articles, menus, metaobjects, locations,
/// inventory levels and the Files library.
fn assert_more_equals_model(store: &fake_shopify::Store, out: &Path) {
    let ids = |m: Vec<u64>| {
        m.into_iter()
            .map(|id| format!("{id}.json"))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        names(&out.join("blogs"))
            .into_iter()
            .filter(|n| n.ends_with(".json"))
            .collect::<BTreeSet<_>>(),
        ids(store.blogs.keys().copied().collect())
    );
    for b in store.blogs.values() {
        assert_eq!(
            read_json(&out.join(format!("blogs/{}.json", b.id)))["title"],
            b.title.as_str()
        );
        let mine: Vec<u64> = store
            .articles
            .values()
            .filter(|a| a.blog_id == b.id)
            .map(|a| a.id)
            .collect();
        assert_eq!(
            names(&out.join(format!("blogs/{}/articles", b.id))),
            ids(mine)
        );
    }
    for a in store.articles.values() {
        let f = read_json(&out.join(format!("blogs/{}/articles/{}.json", a.blog_id, a.id)));
        assert_eq!(
            (f["title"].as_str(), f["body"].as_str()),
            (Some(a.title.as_str()), Some(a.body.as_str()))
        );
        assert_eq!(f["author"]["name"], a.author_name.as_str());
    }
    assert_eq!(
        names(&out.join("menus")),
        ids(store.menus.keys().copied().collect())
    );
    for m in store.menus.values() {
        let f = read_json(&out.join(format!("menus/{}.json", m.id)));
        assert_eq!(f["handle"], m.handle.as_str());
        assert_eq!(f["items"].as_array().unwrap().len(), m.items.len());
    }
    for d in store.metaobject_definitions.values() {
        let f = read_json(&out.join(format!("metaobject-definitions/{}.json", d.type_name)));
        assert_eq!(
            f["fieldDefinitions"].as_array().unwrap().len(),
            d.field_definitions.len()
        );
        let mine: Vec<u64> = store
            .metaobjects
            .values()
            .filter(|o| o.type_name == d.type_name)
            .map(|o| o.id)
            .collect();
        assert_eq!(
            names(&out.join(format!("metaobjects/{}", d.type_name))),
            ids(mine)
        );
    }
    for o in store.metaobjects.values() {
        let f = read_json(&out.join(format!("metaobjects/{}/{}.json", o.type_name, o.id)));
        assert_eq!(f["handle"], o.handle.as_str());
        assert_eq!(f["fields"].as_array().unwrap().len(), o.fields.len());
    }
    assert_eq!(
        names(&out.join("locations")),
        ids(store.locations.keys().copied().collect())
    );
    assert_eq!(
        names(&out.join("inventory")),
        ids(store.inventory.keys().copied().collect())
    );
    for item in store.inventory.values() {
        let f = read_json(&out.join(format!("inventory/{}.json", item.id)));
        let levels = f["inventoryLevels"].as_array().unwrap();
        assert_eq!(levels.len(), item.levels.len());
        for (got, l) in levels.iter().zip(&item.levels) {
            let available = got["quantities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|q| q["name"] == "available")
                .unwrap();
            assert_eq!(
                available["quantity"], l.available,
                "inventory item {}",
                item.id
            );
        }
    }
    // The Files library: every file has its record, and generic files their bytes.
    let media_files: usize = store.products.values().map(|p| p.media.len()).sum();
    assert_eq!(
        names(&out.join("files")).len(),
        media_files + store.files.len()
    );
    for g in store.files.values() {
        let bytes = fs::read(out.join(format!("media/{}/{}", g.id, g.filename))).unwrap();
        assert!(bytes == g.bytes, "file {} differs", g.id);
    }
}

/// Every file of the export, relative path to (inode, ctime in ns).
fn inodes(root: &Path) -> std::collections::BTreeMap<String, (u64, i128)> {
    use std::os::unix::fs::MetadataExt;
    files_under(root)
        .into_iter()
        .map(|p| {
            let m = fs::metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            (
                rel,
                (
                    m.ino(),
                    m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
                ),
            )
        })
        .collect()
}

/// Asserts that the export at `out` holds exactly what the fake store holds now.
fn assert_export_equals_model(fake: &FakeShop, out: &Path) {
    fake.model(|store| {
        let want: BTreeSet<String> = store
            .products
            .keys()
            .map(|id| format!("{id}.json"))
            .collect();
        assert_eq!(names(&out.join("products")), want, "product files");
        for p in store.products.values() {
            let f = read_json(&out.join(format!("products/{}.json", p.id)));
            assert_eq!(f["title"], p.title.as_str());
            assert_eq!(f["handle"], p.handle.as_str());
            let variants = f["variants"].as_array().unwrap();
            assert_eq!(variants.len(), p.variants.len(), "variants of {}", p.id);
            for (got, v) in variants.iter().zip(&p.variants) {
                assert_eq!(gid_number(&got["id"]), v.id);
                assert_eq!(got["price"], v.price.as_str());
                assert_eq!(got["sku"], v.sku.as_str());
                assert_eq!(got["inventoryQuantity"], v.inventory_quantity);
            }
            let media: Vec<u64> = f["media"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| gid_number(&m["id"]))
                .collect();
            assert_eq!(media, p.media, "media of {}", p.id);
            for id in &p.media {
                let m = &store.media[id];
                let bytes = fs::read(out.join(format!("media/{id}/{}", m.filename))).unwrap();
                assert!(bytes == m.bytes, "medium {id} differs");
            }
            let collections: BTreeSet<u64> = f["collections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| gid_number(&c["id"]))
                .collect();
            assert_eq!(
                collections,
                p.collections.iter().copied().collect(),
                "collections of {}",
                p.id
            );
        }
        let media_dirs: BTreeSet<String> = store
            .products
            .values()
            .flat_map(|p| p.media.iter().map(|m| m.to_string()))
            .chain(store.files.keys().map(|f| f.to_string()))
            .collect();
        assert_eq!(names(&out.join("media")), media_dirs, "media folders");
        let want: BTreeSet<String> = store
            .collections
            .keys()
            .map(|id| format!("{id}.json"))
            .collect();
        assert_eq!(names(&out.join("collections")), want);
        assert_eq!(names(&out.join("pages")).len(), store.pages.len());
        assert_eq!(names(&out.join("redirects")).len(), store.redirects.len());
        for c in store.customers.values() {
            let f = read_json(&out.join(format!("customers/{}/customer.json", c.id)));
            assert_eq!(
                f["defaultEmailAddress"]["emailAddress"].as_str(),
                c.email.as_deref()
            );
            assert_eq!(f["lastName"], c.last_name.as_str());
        }
        let want: BTreeSet<String> = store.orders.keys().map(|id| format!("{id}.json")).collect();
        assert_eq!(names(&out.join("orders")), want);
        for o in store.orders.values() {
            let f = read_json(&out.join(format!("orders/{}.json", o.id)));
            for personal in [
                "email",
                "phone",
                "shippingAddress",
                "billingAddress",
                "note",
            ] {
                assert!(f.get(personal).is_none(), "order {} keeps {personal}", o.id);
            }
            let folder = match o.customer_id {
                Some(c) => c.to_string(),
                None => format!("guest-{}", o.id),
            };
            let p = read_json(&out.join(format!("customers/{folder}/orders/{}.json", o.id)));
            assert_eq!(
                p["email"].as_str(),
                o.email.as_deref(),
                "contact of order {}",
                o.id
            );
            assert_eq!(f["lineItems"].as_array().unwrap().len(), o.line_items.len());
        }
        assert_eq!(
            names(&out.join("themes")),
            store.themes.keys().map(|t| t.to_string()).collect()
        );
        for t in store.themes.values() {
            let dir = out.join(format!("themes/{}", t.id));
            assert_eq!(read_json(&dir.join("theme.json"))["role"], t.role.as_str());
            for (name, bytes) in &t.files {
                assert!(
                    &fs::read(dir.join(name)).unwrap() == bytes,
                    "theme {} {name}",
                    t.id
                );
            }
            assert_eq!(
                files_under(&dir).len(),
                t.files.len() + 1,
                "files of theme {}",
                t.id
            );
        }
        assert_eq!(read_json(&out.join("shop.json"))["myshopifyDomain"], SHOP);
        assert_more_equals_model(store, out);
    });
    // Every item file is canonical: sorted keys, one field per line, a final newline.
    for p in files_under(out) {
        if p.extension().is_some_and(|e| e == "json") && !p.starts_with(out.join("themes")) {
            let text = fs::read_to_string(&p).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                text,
                serde_json::to_string_pretty(&v).unwrap() + "\n",
                "{}",
                p.display()
            );
        }
    }
}

#[test]
fn a_full_export_equals_the_store_model() {
    let env = Env::new();
    let fake = shop(30);
    let report = export(&env, &fake, "export");
    assert_export_equals_model(&fake, &env.path("export"));
    let products = fake.model(|s| s.products.len() as u64);
    assert_eq!(report["items"]["products"], products);
    let media = fake.model(|s| {
        s.products
            .values()
            .map(|p| p.media.len() as u64)
            .sum::<u64>()
            + s.files.len() as u64
    });
    // Each original once: a product image is also in the Files library, and is not fetched twice.
    assert_eq!(report["media"]["downloaded"], media);
    assert_eq!(fake.counters().media_downloads, media);
}

#[test]
fn an_unchanged_store_costs_no_media_or_theme_download_and_a_day_costs_only_its_changes() {
    let env = Env::new();
    let fake = shop(30);
    export(&env, &fake, "export");
    let first = contents(&env.path("export"));
    let stamps = inodes(&env.path("export"));
    fake.reset_counters();
    let again = export(&env, &fake, "export");
    let c = fake.counters();
    assert_eq!((c.media_downloads, c.theme_bodies), (0, 0), "{c:?}");
    assert_eq!(again["media"]["downloaded"], 0);
    let mut second = contents(&env.path("export"));
    let mut first = first;
    for c in [&mut first, &mut second] {
        c.remove(".backstock-shopify/state.json");
    }
    assert!(second == first);
    // No file but the export's own state was even touched: same inode, same change time, so a
    // backup takes them all from its parent snapshot without reading them.
    let touched: Vec<String> = inodes(&env.path("export"))
        .into_iter()
        .filter(|(k, v)| stamps.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(touched, [".backstock-shopify/state.json"]);

    let day = fake.advance();
    fake.reset_counters();
    let report = export(&env, &fake, "export");
    assert_export_equals_model(&fake, &env.path("export"));
    let c = fake.counters();
    let new_media = fake.model(|s| {
        day.products_added
            .iter()
            .filter_map(|id| s.products.get(id))
            .map(|p| p.media.len() as u64)
            .sum::<u64>()
    });
    assert_eq!(c.media_downloads, new_media, "{day:?} {c:?}");
    assert_eq!(c.theme_bodies, day.theme_files_edited.len() as u64);
    assert_eq!(
        report["themes"]["fetched"],
        day.theme_files_edited.len() as u64
    );
}

#[test]
fn throttling_429s_and_failed_or_expired_bulk_operations_are_retried() {
    let env = Env::new();
    let fake = shop(20);
    fake.throttle_next(3);
    fake.too_many_next(2);
    fake.fail_next_bulk(1);
    fake.expire_next_bulk(1);
    let report = export(&env, &fake, "export");
    assert_export_equals_model(&fake, &env.path("export"));
    assert!(report["throttled"].as_u64().unwrap() >= 5, "{report}");
    let c = fake.counters();
    assert!(c.throttled >= 3 && c.too_many >= 2, "{c:?}");
    // Ten bulk queries (nine entities and the products' collections), and one more operation
    // each for the failed and the expired one.
    assert_eq!(c.bulk_operations, 12, "{c:?}");
}

#[test]
fn a_failed_export_leaves_the_previous_one_as_it_was_and_says_why() {
    let env = Env::new();
    let fake = shop(15);
    export(&env, &fake, "export");
    let before = contents(&env.path("export"));
    fake.advance();

    // Every try of a bulk operation fails: the store's failure, exit 21.
    fake.fail_next_bulk(3);
    let err = export_fails(&env, &fake, "export", "shpat_test", 21, &[]);
    assert!(err.contains("bulk operation failed 3 times"), "{err}");
    assert!(
        err.contains("previous export there was left as it was"),
        "{err}"
    );
    assert_eq!(contents(&env.path("export")), before);

    // A scope the token lacks: named, exit 20; --skip leaves that entity out.
    fake.deny_scope("read_customers");
    let err = export_fails(&env, &fake, "export", "shpat_test", 20, &[]);
    assert!(err.contains("read_customers"), "{err}");
    assert_eq!(contents(&env.path("export")), before);
    let mut args = export_args(&fake, "export");
    args.extend(["--skip".to_string(), "customers,orders".to_string()]);
    env.cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .assert()
        .success();
    assert!(!env.path("export/customers").exists());
    assert!(!env.path("export/orders").exists());

    // A refused token: exit 20, and the hint names the variable.
    let err = export_fails(&env, &fake, "export", "bad", 20, &[]);
    assert!(err.contains("SHOPIFY_ACCESS_TOKEN"), "{err}");
    for leftover in ["export.backstock-staging", "export.backstock-old"] {
        assert!(!env.path(leftover).exists(), "{leftover}");
    }
}

#[test]
fn bad_arguments_are_refused_and_a_folder_that_is_not_an_export_is_left_alone() {
    let env = Env::new();
    let fake = shop(3);
    write(&env.path("mine/notes.txt"), "keep me");
    let err = export_fails(&env, &fake, "mine", "t", 1, &[]);
    assert!(err.contains("not a backstock export"), "{err}");
    assert_eq!(
        fs::read_to_string(env.path("mine/notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(names(&env.path("mine")).len(), 1);

    let o = env
        .cmd()
        .args(export_args(&fake, "export"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHOPIFY_ACCESS_TOKEN is not set"));

    let err = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args([
            "shopify",
            "export",
            "--shop",
            "https://fake.myshopify.com/",
            "--out",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&err.stderr).contains("NAME.myshopify.com"));
    let err = export_fails(&env, &fake, "export", "t", 1, &["--skip", "gift-cards"]);
    assert!(err.contains("not an entity"), "{err}");
}

#[test]
fn shopify_backup_saves_a_snapshot_per_shop_that_restores_any_item() {
    let env = Env::init();
    let fake = shop(12);
    let mut args: Vec<String> = export_args(&fake, "export")[1..].to_vec();
    args[1] = "backup".to_string();
    args.extend(["--tag".to_string(), "daily".to_string()]);
    env.cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .assert()
        .success();
    fake.advance();
    env.cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .assert()
        .success();
    let snaps = env.snapshots(&["--host", SHOP]);
    assert_eq!(snaps.len(), 2);
    assert!(snaps
        .iter()
        .all(|s| s["tags"] == serde_json::json!(["daily"])));
    // The latest snapshot holds the store as it is now, item by item.
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    // The folder was given as `export`: it is restored as `export`.
    let export = env.path("export");
    let restored = target.join("export");
    assert_same_tree(&export, &restored);
    assert_export_equals_model(&fake, &restored);
}
