//! Tests of `collectionCreate`, `collectionUpdate`, `collectionAddProducts`,
//! `collectionRemoveProducts` and `collectionByIdentifier`.

use crate::tests_http::{gql, start};
use crate::tests_util::{assert_denied, g, numeric};
use crate::StoreParams;
use serde_json::{json, Value};

const CREATE: &str =
    "mutation create($input: CollectionInput!) { collectionCreate(input: $input) { \
    collection { id handle } userErrors { field message } } }";
const UPDATE: &str =
    "mutation update($input: CollectionInput!) { collectionUpdate(input: $input) { \
    collection { id handle title sortOrder templateSuffix seo { title description } updatedAt \
    metafields(first: 10) { nodes { namespace key value } } } userErrors { field message } } }";
const ADD: &str =
    "mutation add($id: ID!, $ids: [ID!]!) { collectionAddProducts(id: $id, productIds: $ids) { \
    collection { id products(first: 250) { nodes { id } } } userErrors { field message } } }";
const REMOVE: &str = "mutation remove($id: ID!, $ids: [ID!]!) { collectionRemoveProducts(id: $id, productIds: $ids) { \
    job { id done } userErrors { field message } } }";
const BY_HANDLE: &str = "query($h: String!) { collectionByIdentifier(identifier: {handle: $h}) { id handle title \
    descriptionHtml sortOrder templateSuffix seo { title description } \
    ruleSet { appliedDisjunctively rules { column relation condition } } products(first: 50) { nodes { id } } \
    metafields(first: 5) { nodes { namespace key type value } } } }";

#[test]
fn collection_create_makes_manual_and_smart_collections() {
    let shop = start(StoreParams::default());
    shop.model_mut(|s| s.day = 3);
    let products: Vec<u64> = shop.model(|s| s.products.keys().take(3).copied().collect());
    let ids: Vec<String> = products.iter().map(|p| g("Product", *p)).collect();
    let r = gql(
        &shop,
        CREATE,
        json!({ "input": {
            "title": "Restored Picks", "handle": "restored-picks", "descriptionHtml": "<p>Back.</p>",
            "sortOrder": "ALPHA_ASC", "templateSuffix": "special", "seo": { "title": "Picks", "description": "Our picks" },
            "products": [ids[0], ids[1], ids[2], ids[0], "gid://shopify/Product/1"],
            "metafields": [{ "namespace": "custom", "key": "banner_text", "type": "single_line_text_field", "value": "Hi" }]
        }}),
    );
    let payload = &r["data"]["collectionCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["collection"]["handle"], "restored-picks");
    let id = numeric(&payload["collection"]["id"]);
    assert!(shop.model(|s| s.ids.clone()).next(crate::Kind::Collection) > id);
    let got = gql(&shop, BY_HANDLE, json!({ "h": "restored-picks" }))["data"]
        ["collectionByIdentifier"]
        .clone();
    assert_eq!(got["title"], "Restored Picks");
    assert_eq!(got["sortOrder"], "ALPHA_ASC");
    assert_eq!(got["templateSuffix"], "special");
    assert_eq!(
        got["seo"],
        json!({ "title": "Picks", "description": "Our picks" })
    );
    assert_eq!(got["ruleSet"], Value::Null);
    assert_eq!(
        got["products"]["nodes"],
        json!(ids.iter().map(|i| json!({ "id": i })).collect::<Vec<_>>())
    );
    assert_eq!(got["metafields"]["nodes"][0]["value"], "Hi");
    shop.model(|s| {
        let c = &s.collections[&id];
        assert_eq!(c.updated_at, s.now());
        for p in &products {
            assert!(s.products[p].collections.contains(&id));
        }
    });

    let smart = gql(
        &shop,
        CREATE,
        json!({ "input": {
            "title": "Cheap Things",
            "ruleSet": { "appliedDisjunctively": true, "rules": [
                { "column": "VARIANT_PRICE", "relation": "LESS_THAN", "condition": "10.00" },
                { "column": "TAG", "relation": "EQUALS", "condition": "sale" } ] }
        }}),
    );
    let payload = &smart["data"]["collectionCreate"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["collection"]["handle"], "cheap-things");
    let got = gql(&shop, BY_HANDLE, json!({ "h": "cheap-things" }))["data"]
        ["collectionByIdentifier"]
        .clone();
    assert_eq!(got["ruleSet"]["appliedDisjunctively"], true);
    assert_eq!(
        got["ruleSet"]["rules"][1],
        json!({ "column": "TAG", "relation": "EQUALS", "condition": "sale" })
    );
    assert_eq!(got["sortOrder"], "BEST_SELLING");
    assert_eq!(got["products"]["nodes"], json!([]));
}

#[test]
fn collection_create_errors_change_nothing() {
    let shop = start(StoreParams::default());
    let (taken, before) = shop.model(|s| {
        (
            s.collections.values().next().unwrap().handle.clone(),
            s.collections.len(),
        )
    });
    let errors = |input: Value| {
        gql(&shop, CREATE, json!({ "input": input }))["data"]["collectionCreate"].clone()
    };
    let e = errors(json!({ "title": " " }));
    assert_eq!(e["collection"], Value::Null);
    assert_eq!(
        e["userErrors"],
        json!([{ "field": ["title"], "message": "Title can't be blank" }])
    );
    let e = errors(json!({ "title": "X", "handle": taken }));
    assert_eq!(e["userErrors"][0]["field"], json!(["handle"]));
    let pid = shop.model(|s| *s.products.keys().next().unwrap());
    let e = errors(
        json!({ "title": "X", "products": [g("Product", pid)], "ruleSet": { "rules": [{ "column": "TAG", "relation": "EQUALS", "condition": "x" }] } }),
    );
    assert_eq!(e["userErrors"][0]["field"], json!(["products"]));
    let e =
        errors(json!({ "title": "X", "ruleSet": { "appliedDisjunctively": false, "rules": [] } }));
    assert_eq!(e["userErrors"][0]["field"], json!(["ruleSet", "rules"]));
    let bad = gql(
        &shop,
        CREATE,
        json!({ "input": { "title": "X", "sortOrder": "RANDOM" } }),
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    let bad = gql(
        &shop,
        CREATE,
        json!({ "input": { "title": "X", "ruleSet": { "rules": [{ "column": "COLOUR", "relation": "EQUALS", "condition": "x" }] } } }),
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    let bad = gql(
        &shop,
        CREATE,
        json!({ "input": { "title": "X", "products": ["42"] } }),
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    // UserError has no code: selecting it is a validation error, and nothing is created.
    let r = gql(
        &shop,
        "mutation { collectionCreate(input: {title: \"Y\"}) { userErrors { code } } }",
        Value::Null,
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "undefinedField");
    assert_eq!(shop.model(|s| s.collections.len()), before);
    shop.deny_scope("write_products");
    assert_denied(
        &gql(&shop, CREATE, json!({ "input": { "title": "Z" } })),
        "write_products",
    );
    assert_eq!(shop.model(|s| s.collections.len()), before);
}

#[test]
fn collection_update_keeps_what_is_left_out() {
    let shop = start(StoreParams::default());
    shop.model_mut(|s| s.day = 2);
    let c = shop
        .model(|s| {
            s.collections
                .values()
                .find(|c| c.rule_set.is_none() && !c.metafields.is_empty())
                .cloned()
        })
        .unwrap_or_else(|| {
            shop.model(|s| {
                s.collections
                    .values()
                    .find(|c| c.rule_set.is_none())
                    .unwrap()
                    .clone()
            })
        });
    let r = gql(
        &shop,
        UPDATE,
        json!({ "input": {
            "id": g("Collection", c.id), "title": "Renamed", "handle": "renamed", "redirectNewHandle": true,
            "sortOrder": "PRICE_DESC", "seo": { "title": "T" },
            "metafields": [{ "namespace": "custom", "key": "extra", "type": "single_line_text_field", "value": "v" }]
        }}),
    );
    let payload = &r["data"]["collectionUpdate"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    let got = &payload["collection"];
    assert_eq!(numeric(&got["id"]), c.id, "same ID");
    assert_eq!(got["handle"], "renamed");
    assert_eq!(got["sortOrder"], "PRICE_DESC");
    assert_eq!(got["templateSuffix"], json!(c.template_suffix));
    assert_eq!(got["seo"], json!({ "title": "T", "description": null }));
    assert_eq!(
        got["metafields"]["nodes"].as_array().unwrap().len(),
        c.metafields.len() + 1
    );
    assert_eq!(got["updatedAt"], shop.model(|s| s.now()));
    shop.model(|s| {
        assert_eq!(s.collections[&c.id].products, c.products);
        assert_eq!(s.collections[&c.id].description_html, c.description_html);
        assert!(s
            .redirects
            .values()
            .any(|r| r.path == format!("/collections/{}", c.handle)
                && r.target == "/collections/renamed"));
    });
    let e = |input: Value| {
        gql(&shop, UPDATE, json!({ "input": input }))["data"]["collectionUpdate"]["userErrors"]
            .clone()
    };
    assert_eq!(
        e(json!({ "id": g("Collection", 1), "title": "X" }))[0]["message"],
        "Collection does not exist"
    );
    assert_eq!(e(json!({ "title": "X" }))[0]["field"], json!(["id"]));
    assert_eq!(
        e(json!({ "id": g("Collection", c.id), "products": [] }))[0]["field"],
        json!(["products"])
    );
    assert_eq!(
        e(
            json!({ "id": g("Collection", c.id), "ruleSet": { "rules": [{ "column": "TAG", "relation": "EQUALS", "condition": "x" }] } })
        )[0]["field"],
        json!(["ruleSet"])
    );
    let other = shop.model(|s| {
        s.collections
            .values()
            .find(|x| x.id != c.id)
            .unwrap()
            .handle
            .clone()
    });
    assert_eq!(
        e(json!({ "id": g("Collection", c.id), "handle": other }))[0]["field"],
        json!(["handle"])
    );
    assert_eq!(
        shop.model(|s| s.collections[&c.id].handle.clone()),
        "renamed"
    );
}

#[test]
fn membership_changes_through_add_and_remove() {
    let shop = start(StoreParams::default());
    let (c, outside) = shop.model(|s| {
        let c = s
            .collections
            .values()
            .find(|c| c.rule_set.is_none() && !c.products.is_empty())
            .unwrap()
            .clone();
        let outside: Vec<u64> = s
            .products
            .keys()
            .filter(|p| !c.products.contains(p))
            .take(2)
            .copied()
            .collect();
        (c, outside)
    });
    let cid = g("Collection", c.id);
    let add: Vec<String> = outside.iter().map(|p| g("Product", *p)).collect();
    let r = gql(&shop, ADD, json!({ "id": cid, "ids": add }));
    assert_eq!(
        r["data"]["collectionAddProducts"]["userErrors"],
        json!([]),
        "{r}"
    );
    let nodes: Vec<u64> = r["data"]["collectionAddProducts"]["collection"]["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| numeric(&n["id"]))
        .collect();
    let mut want = c.products.clone();
    want.extend(&outside);
    assert_eq!(nodes, want);
    shop.model(|s| {
        assert!(outside
            .iter()
            .all(|p| s.products[p].collections.contains(&c.id)))
    });
    // Already there: an error, nothing added.
    let r = gql(&shop, ADD, json!({ "id": cid, "ids": [add[0]] }));
    assert_eq!(
        r["data"]["collectionAddProducts"]["collection"],
        Value::Null
    );
    assert_eq!(
        r["data"]["collectionAddProducts"]["userErrors"][0]["field"],
        json!(["productIds"])
    );
    let r = gql(
        &shop,
        REMOVE,
        json!({ "id": cid, "ids": [add[0], g("Product", c.products[0])] }),
    );
    assert_eq!(
        r["data"]["collectionRemoveProducts"]["userErrors"],
        json!([])
    );
    assert_eq!(r["data"]["collectionRemoveProducts"]["job"]["done"], true);
    assert!(r["data"]["collectionRemoveProducts"]["job"]["id"]
        .as_str()
        .unwrap()
        .starts_with("gid://shopify/Job/"));
    shop.model(|s| {
        let now = &s.collections[&c.id];
        assert!(!now.products.contains(&outside[0]) && !now.products.contains(&c.products[0]));
        assert!(now.products.contains(&outside[1]));
        assert!(!s.products[&outside[0]].collections.contains(&c.id));
    });
    let smart = shop.model(|s| {
        s.collections
            .values()
            .find(|c| c.rule_set.is_some())
            .unwrap()
            .id
    });
    for q in [ADD, REMOVE] {
        let r = gql(
            &shop,
            q,
            json!({ "id": g("Collection", smart), "ids": [add[1]] }),
        );
        let payload = r["data"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone();
        assert!(
            payload["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("smart"),
            "{r}"
        );
        let r = gql(&shop, q, json!({ "id": g("Collection", 9), "ids": [] }));
        let payload = r["data"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone();
        assert_eq!(
            payload["userErrors"][0]["message"],
            "Collection does not exist"
        );
    }
    let many: Vec<String> = (0..251).map(|i| g("Product", i + 1)).collect();
    let r = gql(&shop, ADD, json!({ "id": cid, "ids": many }));
    assert!(
        r["data"]["collectionAddProducts"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("250")
    );
    shop.deny_scope("write_products");
    assert_denied(
        &gql(&shop, REMOVE, json!({ "id": cid, "ids": [] })),
        "write_products",
    );
}

#[test]
fn a_recreated_collection_gets_a_new_id() {
    let shop = start(StoreParams::default());
    let c = shop.model(|s| s.collections.values().next().unwrap().clone());
    assert!(shop.delete(&g("Collection", c.id)));
    assert_eq!(
        gql(&shop, BY_HANDLE, json!({ "h": c.handle }))["data"]["collectionByIdentifier"],
        Value::Null
    );
    let r = gql(
        &shop,
        CREATE,
        json!({ "input": { "title": c.title, "handle": c.handle } }),
    );
    let id = numeric(&r["data"]["collectionCreate"]["collection"]["id"]);
    assert_ne!(id, c.id);
    assert_eq!(
        numeric(
            &gql(&shop, BY_HANDLE, json!({ "h": c.handle }))["data"]["collectionByIdentifier"]
                ["id"]
        ),
        id
    );
}
