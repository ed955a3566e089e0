//! Tests of the restore mutations: `productSet` and `themeFilesUpsert`.

use crate::tests_http::{gql, start};
use crate::StoreParams;
use serde_json::{json, Value};

const PRODUCT_SET: &str = "mutation set($input: ProductSetInput!, $handle: String!) { \
    productSet(input: $input, synchronous: true, identifier: { handle: $handle }) { \
    product { id handle } userErrors { field message code } } }";

const UPSERT: &str =
    "mutation upsert($id: ID!, $files: [OnlineStoreThemeFilesUpsertFileInput!]!) { \
    themeFilesUpsert(themeId: $id, files: $files) { upsertedThemeFiles { filename } \
    userErrors { field message code filename } } }";

fn input(handle: &str, title: &str, collections: Vec<String>) -> Value {
    json!({
        "title": title,
        "handle": handle,
        "descriptionHtml": "<p>Restored.</p>",
        "vendor": "Acme",
        "productType": "Kitchen",
        "status": "ACTIVE",
        "tags": ["restored", "sale"],
        "productOptions": [{ "name": "Size", "position": 1, "values": [{ "name": "S" }, { "name": "L" }] }],
        "variants": [
            { "optionValues": [{ "optionName": "Size", "name": "S" }], "price": "12.00", "compareAtPrice": null, "sku": "R-S",
              "inventoryQuantities": [{ "locationId": "gid://shopify/Location/1", "name": "available", "quantity": 4 }],
              "metafields": [{ "namespace": "custom", "key": "note", "type": "single_line_text_field", "value": "small" }] },
            { "optionValues": [{ "optionName": "Size", "name": "L" }], "price": "14.5", "compareAtPrice": "20.00", "sku": "R-L",
              "inventoryQuantities": [{ "locationId": "gid://shopify/Location/1", "name": "available", "quantity": 9 }] }
        ],
        "metafields": [{ "namespace": "custom", "key": "material", "type": "single_line_text_field", "value": "clay" }],
        "collections": collections,
    })
}

#[test]
fn product_set_replaces_an_existing_product() {
    let shop = start(StoreParams::default());
    let (old, manual) = shop.model(|s| {
        let p = s
            .products
            .values()
            .find(|p| !p.collections.is_empty())
            .unwrap()
            .clone();
        let other = s
            .collections
            .values()
            .find(|c| c.rule_set.is_none() && !p.collections.contains(&c.id))
            .unwrap()
            .id;
        (p, other)
    });
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": input(&old.handle, "Renamed", vec![format!("gid://shopify/Collection/{manual}")]), "handle": old.handle }),
    );
    let payload = &r["data"]["productSet"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(
        payload["product"]["id"],
        format!("gid://shopify/Product/{}", old.id)
    );
    assert_eq!(r["extensions"]["cost"]["requestedQueryCost"], 10);
    shop.model(|s| {
        let p = &s.products[&old.id];
        assert_eq!(p.title, "Renamed");
        assert_eq!(p.tags, vec!["restored", "sale"]);
        assert_eq!(p.options.len(), 1);
        assert_eq!(p.variants.len(), 2);
        assert_eq!(p.variants[1].price, "14.50");
        assert_eq!(p.variants[1].compare_at_price.as_deref(), Some("20.00"));
        assert_eq!(p.variants[0].inventory_quantity, 4);
        assert_eq!(p.variants[0].metafields[0].value, "small");
        assert_eq!(p.metafields.len(), 1);
        assert_eq!(p.collections, vec![manual]);
        assert!(s.collections[&manual].products.contains(&old.id));
        for c in &old.collections {
            assert!(!s.collections[c].products.contains(&old.id));
        }
        assert_eq!(p.updated_at, s.now());
        assert_eq!(p.created_at, old.created_at);
        assert_eq!(p.media, old.media);
    });
    // A later export sees it.
    let read = gql(
        &shop,
        "query($id: ID!) { product(id: $id) { title variants(first: 5) { nodes { price sku } } } }",
        json!({ "id": format!("gid://shopify/Product/{}", old.id) }),
    );
    assert_eq!(read["data"]["product"]["title"], "Renamed");
    assert_eq!(
        read["data"]["product"]["variants"]["nodes"][0]["sku"],
        "R-S"
    );
}

#[test]
fn product_set_recreates_a_deleted_product_with_a_new_id() {
    let shop = start(StoreParams::default());
    let old = shop.model(|s| s.products.values().next().unwrap().clone());
    assert!(shop.delete_product(old.id));
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": input(&old.handle, &old.title, vec![]), "handle": old.handle }),
    );
    let id = r["data"]["productSet"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(id, format!("gid://shopify/Product/{}", old.id));
    assert_eq!(
        r["data"]["productSet"]["product"]["handle"],
        old.handle.as_str()
    );
    let new_id: u64 = id.rsplit('/').next().unwrap().parse().unwrap();
    shop.model(|s| {
        let p = &s.products[&new_id];
        assert_eq!(p.handle, old.handle);
        assert_eq!(p.created_at, s.now());
        assert!(p
            .variants
            .iter()
            .all(|v| old.variants.iter().all(|o| o.id != v.id)));
    });
}

#[test]
fn product_set_user_errors() {
    let shop = start(StoreParams::default());
    let taken = shop.model(|s| s.products.values().nth(1).unwrap().handle.clone());
    let mut blank = input("brand-new", "", vec![]);
    blank["title"] = json!("  ");
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": blank, "handle": "brand-new" }),
    );
    assert_eq!(r["data"]["productSet"]["product"], Value::Null);
    assert_eq!(
        r["data"]["productSet"]["userErrors"][0]["field"],
        json!(["input", "title"])
    );
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": input(&taken, "X", vec![]), "handle": "brand-new" }),
    );
    assert_eq!(
        r["data"]["productSet"]["userErrors"][0]["code"],
        "HANDLE_NOT_UNIQUE"
    );
    let mut bad_price = input("brand-new", "X", vec![]);
    bad_price["variants"][0]["price"] = json!("twelve");
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": bad_price, "handle": "brand-new" }),
    );
    assert_eq!(
        r["data"]["productSet"]["userErrors"][0]["field"],
        json!(["input", "variants", "0"])
    );
    let r = gql(
        &shop,
        PRODUCT_SET,
        json!({ "input": input("brand-new", "X", vec!["gid://shopify/Collection/1".into()]), "handle": "brand-new" }),
    );
    assert!(!r["data"]["productSet"]["userErrors"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(shop.model(|s| s.product_by_handle("brand-new").is_none()));
}

#[test]
fn theme_files_upsert() {
    use base64::Engine;
    let shop = start(StoreParams::default());
    let main = shop.model(|s| s.main_theme().unwrap().id);
    let gid = format!("gid://shopify/OnlineStoreTheme/{main}");
    let png = vec![0x89, b'P', b'N', b'G', 0, 1, 2, 0xFF];
    let files = json!([
        { "filename": "sections/header.liquid", "body": { "type": "TEXT", "value": "<header>new</header>\n" } },
        { "filename": "assets/new.png", "body": { "type": "BASE64", "value": base64::engine::general_purpose::STANDARD.encode(&png) } },
    ]);
    let r = gql(&shop, UPSERT, json!({ "id": gid, "files": files }));
    let payload = &r["data"]["themeFilesUpsert"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(
        payload["upsertedThemeFiles"],
        json!([{ "filename": "sections/header.liquid" }, { "filename": "assets/new.png" }])
    );
    shop.model(|s| {
        let t = &s.themes[&main];
        assert_eq!(t.files["sections/header.liquid"], b"<header>new</header>\n");
        assert_eq!(t.files["assets/new.png"], png);
        assert_eq!(t.updated_at, s.now());
    });

    let many: Vec<Value> = (0..51).map(|i| json!({ "filename": format!("snippets/s{i}.liquid"), "body": { "type": "TEXT", "value": "x" } })).collect();
    let r = gql(&shop, UPSERT, json!({ "id": gid, "files": many }));
    assert_eq!(
        r["data"]["themeFilesUpsert"]["userErrors"][0]["code"], "LESS_THAN_OR_EQUAL_TO",
        "{r}"
    );
    assert!(shop.model(|s| !s.themes[&main].files.contains_key("snippets/s0.liquid")));
    let r = gql(
        &shop,
        UPSERT,
        json!({ "id": "gid://shopify/OnlineStoreTheme/5", "files": [] }),
    );
    assert_eq!(
        r["data"]["themeFilesUpsert"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let dup = json!([
        { "filename": "a.liquid", "body": { "type": "TEXT", "value": "1" } },
        { "filename": "a.liquid", "body": { "type": "TEXT", "value": "2" } },
    ]);
    let r = gql(&shop, UPSERT, json!({ "id": gid, "files": dup }));
    assert_eq!(
        r["data"]["themeFilesUpsert"]["userErrors"][0]["code"],
        "DUPLICATE_FILE_INPUT"
    );
}

#[test]
fn a_bad_selection_changes_nothing() {
    let shop = start(StoreParams::default());
    let old = shop.model(|s| s.products.values().next().unwrap().clone());
    let doc = PRODUCT_SET.replace("product { id handle }", "product { id nope }");
    let r = gql(
        &shop,
        &doc,
        json!({ "input": input(&old.handle, "Changed", vec![]), "handle": old.handle }),
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "undefinedField");
    assert_eq!(shop.model(|s| s.products[&old.id].title.clone()), old.title);
    let bulk = gql(
        &shop,
        "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id nope } } }",
        json!({ "q": "{ pages { edges { node { id } } } }" }),
    );
    assert_eq!(bulk["errors"][0]["extensions"]["code"], "undefinedField");
    assert_eq!(shop.counters().bulk_operations, 0);
}
