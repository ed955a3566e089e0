//! `shopify restore` of the records other than products, against the fake store: a deleted
//! manual collection comes back with its members under a new ID, and a menu restored in the same
//! run points at that new ID; an edited page, article and metaobject get their fields back; a
//! deleted redirect is recreated.

use crate::shopify::{backup, read_json, shop};
use crate::util::*;
use fake_shopify::MenuItem;
use serde_json::Value;
use std::fs;

/// Every resource a menu's items point at, depth first.
fn resources(items: &[MenuItem], out: &mut Vec<String>) {
    for i in items {
        out.extend(i.resource_id.clone());
        resources(&i.items, out);
    }
}

#[test]
fn records_come_back_as_they_were_with_ids_mapped_for_what_was_recreated() {
    let env = Env::init();
    let fake = shop(25);
    // A manual collection some menu item points at, and the other records.
    let (coll, menu, page, redirect, object, article) = fake.model(|s| {
        let menu = s
            .menus
            .values()
            .find(|m| {
                let mut r = Vec::new();
                resources(&m.items, &mut r);
                r.iter().any(|g| {
                    g.starts_with("gid://shopify/Collection/")
                        && s.collections[&g.rsplit('/').next().unwrap().parse::<u64>().unwrap()]
                            .rule_set
                            .is_none()
                })
            })
            .expect("a menu pointing at a manual collection");
        let mut r = Vec::new();
        resources(&menu.items, &mut r);
        let coll: u64 = r
            .iter()
            .find(|g| {
                g.starts_with("gid://shopify/Collection/")
                    && s.collections[&g.rsplit('/').next().unwrap().parse::<u64>().unwrap()]
                        .rule_set
                        .is_none()
            })
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        (
            s.collections[&coll].clone(),
            menu.clone(),
            s.pages.values().next().unwrap().clone(),
            s.redirects.values().next().unwrap().clone(),
            s.metaobjects.values().next().unwrap().clone(),
            s.articles.values().next().unwrap().clone(),
        )
    });
    assert!(!coll.products.is_empty());
    let before = backup(&env, &fake);

    // A bad day: the collection and the redirect deleted (the menu loses its item), the page,
    // the article and the metaobject overwritten.
    assert!(fake.delete(&format!("gid://shopify/Collection/{}", coll.id)));
    assert!(fake.delete(&format!("gid://shopify/UrlRedirect/{}", redirect.id)));
    fake.model_mut(|s| {
        let p = s.pages.get_mut(&page.id).unwrap();
        p.title = "Oops".into();
        p.body = "<p>overwritten</p>".into();
        s.articles.get_mut(&article.id).unwrap().body = "<p>gone</p>".into();
        for f in &mut s.metaobjects.get_mut(&object.id).unwrap().fields {
            if f.value.is_some() && f.key != "portrait" {
                f.value = Some("overwritten".into());
            }
        }
    });
    let menu_after = fake.model(|s| s.menus[&menu.id].clone());
    assert_ne!(
        menu_after.items, menu.items,
        "the deletion should have cut the menu"
    );

    let items = [
        format!("menus/{}.json", menu.id),
        format!("collections/{}.json", coll.id),
        format!("pages/{}.json", page.id),
        format!("redirects/{}.json", redirect.id),
        format!("metaobjects/{}/{}.json", object.type_name, object.id),
        format!("blogs/{}/articles/{}.json", article.blog_id, article.id),
    ];
    let url = fake.url();
    let mut args: Vec<&str> = vec!["--json", "shopify", "restore", &before];
    args.extend(items.iter().map(String::as_str));
    args.extend(["--out", "export", "--admin-url", &url]);
    let out = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = report["items"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert!(
        results.iter().all(|r| r["outcome"] == "restored"),
        "{report}"
    );
    // Dependencies first: the collection before the menu that points at it.
    let pos = |p: &str| {
        results
            .iter()
            .position(|r| r["item"].as_str().unwrap().starts_with(p))
            .unwrap()
    };
    assert!(pos("collections/") < pos("menus/"));

    let new_coll = fake.model(|s| {
        let c = s
            .collections
            .values()
            .find(|c| c.handle == coll.handle)
            .expect("the collection is back");
        assert_ne!(c.id, coll.id, "a recreated collection has a new ID");
        assert_eq!(c.title, coll.title);
        let mut got = c.products.clone();
        let mut want = coll.products.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "its members");
        let p = &s.pages[&page.id];
        assert_eq!((&p.title, &p.body), (&page.title, &page.body));
        assert_eq!(s.articles[&article.id].body, article.body);
        assert_eq!(s.metaobjects[&object.id].fields, object.fields);
        let r = s
            .redirects
            .values()
            .find(|r| r.path == redirect.path)
            .expect("the redirect is back");
        assert_eq!(r.target, redirect.target);
        assert_ne!(r.id, redirect.id);
        let m = &s.menus[&menu.id];
        assert_eq!(m.items.len(), menu.items.len());
        let mut r = Vec::new();
        resources(&m.items, &mut r);
        assert!(
            r.contains(&format!("gid://shopify/Collection/{}", c.id)),
            "the menu points at the new collection: {r:?}"
        );
        assert!(!r.contains(&format!("gid://shopify/Collection/{}", coll.id)));
        c.id
    });
    let ids = read_json(&env.path("export/.backstock-shopify/ids.json"));
    assert_eq!(
        ids[format!("gid://shopify/Collection/{}", coll.id)],
        format!("gid://shopify/Collection/{new_coll}")
    );
    assert!(ids[format!("gid://shopify/UrlRedirect/{}", redirect.id)].is_string());
    let audit = fs::read_to_string(env.path("export/.backstock-shopify/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 1);

    // Restoring the same records again changes nothing more and creates nothing.
    let counts = fake.model(|s| (s.collections.len(), s.redirects.len(), s.pages.len()));
    let out = env
        .cmd()
        .env("SHOPIFY_ACCESS_TOKEN", "t")
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        fake.model(|s| (s.collections.len(), s.redirects.len(), s.pages.len())),
        counts
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["detail"].as_str().unwrap().starts_with("updated")),
        "{report}"
    );
}
