//! The connector's own documents for blogs, inventory, files, menus, metaobjects, locations and
//! the restore mutations (its `queries.rs`), run against the fake with the variables it sends.

use crate::tests_http::{gql, queries, start};
use crate::tests_util::{bulk, g, numeric};
use crate::StoreParams;
use serde_json::{json, Value};

/// Every node of a paginated query (`$after`), following `pageInfo`.
fn all_pages(shop: &crate::FakeShop, doc: &str, field: &str, vars: Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut vars = vars;
    loop {
        let r = gql(shop, doc, vars.clone());
        assert!(r.get("errors").is_none(), "{r}");
        let conn = &r["data"][field];
        out.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        vars["after"] = conn["pageInfo"]["endCursor"].clone();
    }
}

fn no_errors(r: &Value, field: &str) -> Value {
    let payload = r["data"][field].clone();
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    payload
}

#[test]
fn connector_exports_run() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let blogs = bulk(&shop, queries::BLOGS);
    let articles = blogs
        .iter()
        .filter(|l| l["id"].as_str().unwrap().contains("/Article/"))
        .count();
    assert_eq!(articles, store.articles.len());
    let inventory = bulk(&shop, queries::INVENTORY);
    assert_eq!(
        inventory
            .iter()
            .filter(|l| l.get("__parentId").is_none())
            .count(),
        store.inventory.len()
    );
    let files = bulk(&shop, queries::FILES);
    assert_eq!(files.len(), store.media.len() + store.files.len());
    assert_eq!(
        all_pages(&shop, queries::MENUS, "menus", json!({})).len(),
        2
    );
    let defs = all_pages(
        &shop,
        queries::METAOBJECT_DEFINITIONS,
        "metaobjectDefinitions",
        json!({}),
    );
    assert_eq!(defs.len(), 2);
    for d in defs {
        let objects = all_pages(
            &shop,
            queries::METAOBJECTS,
            "metaobjects",
            json!({ "type": d["type"] }),
        );
        assert!(!objects.is_empty());
    }
    assert_eq!(
        all_pages(&shop, queries::LOCATIONS, "locations", json!({})).len(),
        2
    );
}

#[test]
fn connector_restores_run() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());

    // A deleted manual collection comes back with a new ID and its members.
    let c = store
        .collections
        .values()
        .find(|c| c.rule_set.is_none() && c.products.len() > 1)
        .unwrap();
    assert!(shop.delete(&g("Collection", c.id)));
    let now = gql(
        &shop,
        queries::COLLECTION_BY_HANDLE,
        json!({ "handle": c.handle }),
    );
    assert_eq!(now["data"]["collectionByIdentifier"], Value::Null);
    let members: Vec<String> = c.products.iter().map(|p| g("Product", *p)).collect();
    let input = json!({ "title": c.title, "handle": c.handle, "descriptionHtml": c.description_html,
        "sortOrder": c.sort_order, "templateSuffix": c.template_suffix, "seo": { "title": null, "description": null },
        "metafields": [], "products": members[1..] });
    let p = no_errors(
        &gql(&shop, queries::COLLECTION_CREATE, json!({ "input": input })),
        "collectionCreate",
    );
    let id = p["collection"]["id"].as_str().unwrap().to_string();
    assert_ne!(numeric(&json!(id)), c.id);
    let mut update = input.clone();
    update.as_object_mut().unwrap().remove("products");
    update["id"] = json!(id);
    no_errors(
        &gql(
            &shop,
            queries::COLLECTION_UPDATE,
            json!({ "input": update }),
        ),
        "collectionUpdate",
    );
    no_errors(
        &gql(
            &shop,
            queries::COLLECTION_ADD,
            json!({ "id": id, "productIds": [members[0]] }),
        ),
        "collectionAddProducts",
    );
    no_errors(
        &gql(
            &shop,
            queries::COLLECTION_REMOVE,
            json!({ "id": id, "productIds": [members[1]] }),
        ),
        "collectionRemoveProducts",
    );
    let now = gql(
        &shop,
        queries::COLLECTION_BY_HANDLE,
        json!({ "handle": c.handle }),
    );
    let got: Vec<u64> = now["data"]["collectionByIdentifier"]["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| numeric(&n["id"]))
        .collect();
    assert!(got.contains(&c.products[0]) && !got.contains(&c.products[1]));

    // A page found by handle, then one recreated.
    let page = store.pages.values().next().unwrap();
    let found = gql(
        &shop,
        queries::PAGE_BY_HANDLE,
        json!({ "query": format!("handle:'{}'", page.handle) }),
    );
    let pid = found["data"]["pages"]["nodes"][0]["id"].clone();
    assert_eq!(numeric(&pid), page.id);
    let body = json!({ "title": page.title, "handle": page.handle, "body": page.body, "isPublished": page.is_published, "templateSuffix": page.template_suffix, "metafields": [] });
    no_errors(
        &gql(
            &shop,
            queries::PAGE_UPDATE,
            json!({ "id": pid, "page": body }),
        ),
        "pageUpdate",
    );
    assert!(shop.delete(&g("Page", page.id)));
    let none = gql(
        &shop,
        queries::PAGE_BY_HANDLE,
        json!({ "query": format!("handle:'{}'", page.handle) }),
    );
    assert_eq!(none["data"]["pages"]["nodes"], json!([]));
    let p = no_errors(
        &gql(&shop, queries::PAGE_CREATE, json!({ "page": body })),
        "pageCreate",
    );
    assert_ne!(numeric(&p["page"]["id"]), page.id);

    // A redirect found by path.
    let r = store.redirects.values().next().unwrap();
    let found = gql(
        &shop,
        queries::REDIRECT_BY_PATH,
        json!({ "query": format!("path:'{}'", r.path) }),
    );
    let rid = found["data"]["urlRedirects"]["nodes"][0]["id"].clone();
    assert_eq!(numeric(&rid), r.id);
    no_errors(
        &gql(
            &shop,
            queries::REDIRECT_UPDATE,
            json!({ "id": rid, "urlRedirect": { "path": r.path, "target": "/x" } }),
        ),
        "urlRedirectUpdate",
    );
    no_errors(
        &gql(
            &shop,
            queries::REDIRECT_CREATE,
            json!({ "urlRedirect": { "path": "/brand-new", "target": "/y" } }),
        ),
        "urlRedirectCreate",
    );

    // Menus: the default one updated in place, a deleted one recreated.
    let menus = all_pages(&shop, queries::MENUS, "menus", json!({}));
    let main = menus.iter().find(|m| m["handle"] == "main-menu").unwrap();
    fn strip(items: &Value) -> Value {
        Value::Array(items.as_array().unwrap().iter().map(|i| {
            let mut m = json!({ "title": i["title"], "type": i["type"], "url": i["url"], "tags": i["tags"], "items": strip(i.get("items").unwrap_or(&json!([]))) });
            if let Some(r) = i["resourceId"].as_str() {
                m["resourceId"] = json!(r);
            }
            m
        }).collect())
    }
    let items = strip(&main["items"]);
    no_errors(
        &gql(
            &shop,
            queries::MENU_UPDATE,
            json!({ "id": main["id"], "title": main["title"], "handle": "main-menu", "items": items }),
        ),
        "menuUpdate",
    );
    let footer = menus.iter().find(|m| m["handle"] == "footer").unwrap();
    assert!(shop.delete(footer["id"].as_str().unwrap()));
    let p = no_errors(
        &gql(
            &shop,
            queries::MENU_CREATE,
            json!({ "title": footer["title"], "handle": "footer", "items": strip(&footer["items"]) }),
        ),
        "menuCreate",
    );
    assert_ne!(p["menu"]["id"], footer["id"]);

    // Metaobjects upserted with every field, unset ones null.
    let m = store.metaobjects.values().next().unwrap();
    let fields: Vec<Value> = m
        .fields
        .iter()
        .map(|f| json!({ "key": f.key, "value": f.value }))
        .collect();
    let vars = json!({ "handle": { "type": m.type_name, "handle": m.handle }, "metaobject": { "fields": fields } });
    let p = no_errors(
        &gql(&shop, queries::METAOBJECT_UPSERT, vars),
        "metaobjectUpsert",
    );
    assert_eq!(numeric(&p["metaobject"]["id"]), m.id);

    // Articles found by handle within their blog, then one recreated.
    let a = store.articles.values().next().unwrap();
    let found = gql(
        &shop,
        queries::ARTICLE_BY_HANDLE,
        json!({ "query": format!("handle:'{}'", a.handle) }),
    );
    let node = found["data"]["articles"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["blog"]["id"] == g("Blog", a.blog_id))
        .unwrap()
        .clone();
    let article = json!({ "title": a.title, "handle": a.handle, "body": a.body, "summary": a.summary, "tags": a.tags,
        "isPublished": a.is_published, "templateSuffix": a.template_suffix, "author": { "name": a.author_name }, "metafields": [] });
    no_errors(
        &gql(
            &shop,
            queries::ARTICLE_UPDATE,
            json!({ "id": node["id"], "article": article }),
        ),
        "articleUpdate",
    );
    assert!(shop.delete(&g("Article", a.id)));
    let mut create = article.clone();
    create["blogId"] = json!(g("Blog", a.blog_id));
    let p = no_errors(
        &gql(&shop, queries::ARTICLE_CREATE, json!({ "article": create })),
        "articleCreate",
    );
    assert_ne!(numeric(&p["article"]["id"]), a.id);
}
