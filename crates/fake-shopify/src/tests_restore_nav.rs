//! Tests of `menuCreate`/`menuUpdate` and `metaobjectUpsert`.

use crate::tests_http::{gql, start};
use crate::tests_util::{assert_denied, g, numeric};
use crate::StoreParams;
use serde_json::{json, Value};

const MENU_CREATE: &str = "mutation create($title: String!, $handle: String!, $items: [MenuItemCreateInput!]!) { \
    menuCreate(title: $title, handle: $handle, items: $items) { menu { id handle } userErrors { field message code } } }";
const MENU_UPDATE: &str = "mutation update($id: ID!, $title: String!, $handle: String, $items: [MenuItemUpdateInput!]!) { \
    menuUpdate(id: $id, title: $title, handle: $handle, items: $items) { menu { id handle title isDefault \
    items { id title type url resourceId tags items { id title type url resourceId items { id title } } } } \
    userErrors { field message code } } }";
const UPSERT: &str = "mutation upsert($handle: MetaobjectHandleInput!, $metaobject: MetaobjectUpsertInput!) { \
    metaobjectUpsert(handle: $handle, metaobject: $metaobject) { metaobject { id handle displayName updatedAt \
    fields { key value } } userErrors { field message code elementKey elementIndex } } }";

fn item(title: &str, ty: &str, extra: Value) -> Value {
    let mut v = json!({ "title": title, "type": ty, "items": [] });
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

#[test]
fn menus_are_created_and_replaced() {
    let shop = start(StoreParams::default());
    let (collection, product, page) = shop.model(|s| {
        let c = s
            .collections
            .values()
            .find(|c| !c.products.is_empty())
            .unwrap();
        (
            c.clone(),
            c.products[0],
            s.pages.values().next().unwrap().clone(),
        )
    });
    let items = json!([
        item("Home", "FRONTPAGE", json!({})),
        item(
            &collection.title,
            "COLLECTION",
            json!({ "resourceId": g("Collection", collection.id), "tags": ["sale"],
            "items": [item("One", "PRODUCT", json!({ "resourceId": g("Product", product), "url": "/ignored" }))] })
        ),
        item(
            &page.title,
            "PAGE",
            json!({ "resourceId": g("Page", page.id) })
        ),
        item("Blog", "HTTP", json!({ "url": "https://example.com" })),
    ]);
    let r = gql(
        &shop,
        MENU_CREATE,
        json!({ "title": "Sidebar", "handle": "sidebar", "items": items }),
    );
    let payload = &r["data"]["menuCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["menu"]["handle"], "sidebar");
    let id = numeric(&payload["menu"]["id"]);
    let m = shop.model(|s| s.menus[&id].clone());
    assert!(!m.is_default);
    assert_eq!(m.items.len(), 4);
    assert_eq!(m.items[0].url.as_deref(), Some("/"));
    assert_eq!(m.items[1].tags, ["sale"]);
    let product_handle = shop.model(|s| s.products[&product].handle.clone());
    assert_eq!(
        m.items[1].items[0].url,
        Some(format!("/products/{product_handle}"))
    );

    // Update: keep one item's ID, replace the rest.
    let kept = g("MenuItem", m.items[0].id);
    let r = gql(
        &shop,
        MENU_UPDATE,
        json!({ "id": g("Menu", id), "title": "Side", "items": [
            { "id": kept, "title": "Start", "type": "FRONTPAGE", "items": [
                item("Search", "SEARCH", json!({ "items": [item("Catalog", "CATALOG", json!({}))] })) ] },
            { "id": g("MenuItem", 1), "title": "Elsewhere", "type": "HTTP", "url": "https://example.org" }
        ]}),
    );
    let menu = &r["data"]["menuUpdate"]["menu"];
    assert_eq!(r["data"]["menuUpdate"]["userErrors"], json!([]), "{r}");
    assert_eq!(menu["title"], "Side");
    assert_eq!(menu["handle"], "sidebar", "handle kept when not given");
    assert_eq!(menu["items"][0]["id"], kept);
    assert_eq!(menu["items"][0]["items"][0]["items"][0]["title"], "Catalog");
    assert_ne!(
        menu["items"][1]["id"],
        g("MenuItem", 1),
        "unknown item IDs are not taken"
    );
    let all: Vec<u64> = shop.model(|s| {
        let mut v = Vec::new();
        for m in s.menus.values() {
            fn walk(items: &[crate::MenuItem], v: &mut Vec<u64>) {
                for i in items {
                    v.push(i.id);
                    walk(&i.items, v);
                }
            }
            walk(&m.items, &mut v);
        }
        v
    });
    let unique: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "item IDs are unique");
}

#[test]
fn menu_errors_change_nothing() {
    let shop = start(StoreParams::default());
    let before = shop.model(|s| (s.menus.clone(), s.ids.clone()));
    let create = |title: &str, handle: &str, items: Value| {
        let r = gql(
            &shop,
            MENU_CREATE,
            json!({ "title": title, "handle": handle, "items": items }),
        );
        r["data"]["menuCreate"]["userErrors"].clone()
    };
    assert_eq!(
        create("Main", "main-menu", json!([]))[0]["message"],
        "Handle has already been taken"
    );
    assert_eq!(create("", "x", json!([]))[0]["field"], json!(["title"]));
    let deep = json!([item(
        "1",
        "CATALOG",
        json!({ "items": [item("2", "CATALOG", json!({ "items": [item("3", "CATALOG", json!({ "items": [item("4", "CATALOG", json!({}))] }))] }))] })
    )]);
    let e = create("Deep", "deep", deep);
    assert_eq!(e[0]["code"], "NESTING_TOO_DEEP");
    assert_eq!(
        e[0]["field"],
        json!(["items", "0", "items", "0", "items", "0", "items"])
    );
    let e = create(
        "Dead",
        "dead",
        json!([item(
            "Gone",
            "PRODUCT",
            json!({ "resourceId": g("Product", 1) })
        )]),
    );
    assert_eq!(e[0]["code"], "NOT_FOUND");
    assert_eq!(e[0]["field"], json!(["items", "0", "resourceId"]));
    let page = shop.model(|s| *s.pages.keys().next().unwrap());
    let e = create(
        "Mismatch",
        "mismatch",
        json!([item(
            "P",
            "COLLECTION",
            json!({ "resourceId": g("Page", page) })
        )]),
    );
    assert_eq!(e[0]["code"], "NOT_FOUND");
    let e = create("NoUrl", "no-url", json!([item("P", "HTTP", json!({}))]));
    assert_eq!(e[0]["field"], json!(["items", "0", "url"]));
    let bad = gql(
        &shop,
        MENU_CREATE,
        json!({ "title": "T", "handle": "t", "items": [item("x", "WORMHOLE", json!({}))] }),
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    let main = shop.model(|s| {
        s.menus
            .values()
            .find(|m| m.handle == "main-menu")
            .unwrap()
            .id
    });
    let r = gql(
        &shop,
        MENU_UPDATE,
        json!({ "id": g("Menu", main), "title": "Main", "handle": "primary", "items": [] }),
    );
    assert!(r["data"]["menuUpdate"]["userErrors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("default menu"));
    let r = gql(
        &shop,
        MENU_UPDATE,
        json!({ "id": g("Menu", 4), "title": "X", "items": [] }),
    );
    assert_eq!(
        r["data"]["menuUpdate"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let after = shop.model(|s| (s.menus.clone(), s.ids.clone()));
    assert_eq!(
        serde_json::to_string(&before).unwrap(),
        serde_json::to_string(&after).unwrap()
    );
    shop.deny_scope("write_online_store_navigation");
    assert_denied(
        &gql(
            &shop,
            MENU_CREATE,
            json!({ "title": "T", "handle": "t", "items": [] }),
        ),
        "write_online_store_navigation",
    );
}

#[test]
fn metaobject_upsert_creates_then_updates_given_fields() {
    let shop = start(StoreParams::default());
    shop.model_mut(|s| s.day = 6);
    let key = json!({ "type": "designer", "handle": "dana-scully" });
    let r = gql(
        &shop,
        UPSERT,
        json!({ "handle": key, "metaobject": { "fields": [
        { "key": "name", "value": "Dana Scully" }, { "key": "bio", "value": "Line one.\nLine two." } ] } }),
    );
    let payload = &r["data"]["metaobjectUpsert"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    let m = &payload["metaobject"];
    assert_eq!(m["handle"], "dana-scully");
    assert_eq!(m["displayName"], "Dana Scully");
    assert_eq!(
        m["fields"],
        json!([{ "key": "name", "value": "Dana Scully" }, { "key": "bio", "value": "Line one.\nLine two." }, { "key": "portrait", "value": null }])
    );
    let id = numeric(&m["id"]);
    shop.model_mut(|s| s.day = 7);
    let r = gql(
        &shop,
        UPSERT,
        json!({ "handle": key, "metaobject": { "fields": [{ "key": "portrait", "value": "https://example.com/d.jpg" }] } }),
    );
    let m = &r["data"]["metaobjectUpsert"]["metaobject"];
    assert_eq!(numeric(&m["id"]), id, "same metaobject");
    assert_eq!(m["fields"][0]["value"], "Dana Scully", "kept");
    assert_eq!(m["fields"][2]["value"], "https://example.com/d.jpg");
    assert_eq!(m["updatedAt"], shop.model(|s| s.now()));
    let listed = gql(
        &shop,
        "{ metaobjects(type: \"designer\", first: 10) { nodes { handle } } }",
        Value::Null,
    );
    assert!(listed["data"]["metaobjects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["handle"] == "dana-scully"));
    // Recreated after a deletion: a new ID.
    assert!(shop.delete(&g("Metaobject", id)));
    let r = gql(
        &shop,
        UPSERT,
        json!({ "handle": key, "metaobject": { "fields": [{ "key": "name", "value": "Dana" }] } }),
    );
    assert_ne!(
        numeric(&r["data"]["metaobjectUpsert"]["metaobject"]["id"]),
        id
    );
}

#[test]
fn metaobject_upsert_errors() {
    let shop = start(StoreParams::default());
    let before = shop.model(|s| s.metaobjects.clone());
    let errors = |handle: Value, fields: Value| {
        let r = gql(
            &shop,
            UPSERT,
            json!({ "handle": handle, "metaobject": { "fields": fields } }),
        );
        assert_eq!(
            r["data"]["metaobjectUpsert"]["metaobject"],
            Value::Null,
            "{r}"
        );
        r["data"]["metaobjectUpsert"]["userErrors"].clone()
    };
    let e = errors(json!({ "type": "robot", "handle": "x" }), json!([]));
    assert_eq!(e[0]["code"], "UNDEFINED_OBJECT_TYPE");
    assert_eq!(e[0]["elementKey"], Value::Null);
    let e = errors(
        json!({ "type": "faq", "handle": "new-q" }),
        json!([{ "key": "question", "value": "Why?" }, { "key": "colour", "value": "x" }]),
    );
    let codes: Vec<&str> = e
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["UNDEFINED_OBJECT_FIELD", "OBJECT_FIELD_REQUIRED"]);
    assert_eq!(e[0]["elementKey"], "colour");
    assert_eq!(e[0]["field"], json!(["metaobject", "fields", "1"]));
    assert_eq!(e[1]["elementKey"], "answer");
    let e = errors(
        json!({ "type": "faq", "handle": "new-q" }),
        json!([{ "key": "question", "value": "two\nlines" }, { "key": "answer", "value": "a" }, { "key": "position", "value": "0" }]),
    );
    let codes: Vec<&str> = e
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["INVALID_VALUE", "INVALID_VALUE", "OBJECT_FIELD_REQUIRED"]
    );
    let e = errors(
        json!({ "type": "designer", "handle": "ada-okafor" }),
        json!([{ "key": "name", "value": "" }]),
    );
    assert_eq!(e[0]["code"], "OBJECT_FIELD_REQUIRED");
    let e = errors(
        json!({ "type": "designer", "handle": "ada-okafor" }),
        json!([{ "key": "name", "value": "x".repeat(101) }]),
    );
    assert_eq!(e[0]["code"], "INVALID_VALUE");
    let e = errors(json!({ "type": "designer", "handle": "" }), json!([]));
    assert_eq!(e[0]["code"], "BLANK");
    let r = gql(
        &shop,
        UPSERT,
        json!({ "handle": { "type": "designer", "handle": "ada-okafor" }, "metaobject": { "handle": "ben-tanaka" } }),
    );
    assert_eq!(
        r["data"]["metaobjectUpsert"]["userErrors"][0]["code"],
        "TAKEN"
    );
    assert_eq!(shop.model(|s| s.metaobjects.clone()), before);
    shop.deny_scope("write_metaobjects");
    assert_denied(
        &gql(
            &shop,
            UPSERT,
            json!({ "handle": { "type": "faq", "handle": "x" }, "metaobject": {} }),
        ),
        "write_metaobjects",
    );
}
