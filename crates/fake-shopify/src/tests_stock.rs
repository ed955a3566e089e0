//! Tests of locations, inventory levels and the files library over HTTP, and of the `query:`
//! filter on the catalogue connections.

use crate::tests_http::{get_url, gql, start};
use crate::tests_util::{assert_denied, bulk, bulk_start, children, g, numeric};
use crate::StoreParams;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const INVENTORY: &str = "{ inventoryItems { edges { node { id sku tracked unitCost { amount currencyCode } \
    variant { id } inventoryLevels { edges { node { id location { id name } \
    quantities(names: [\"available\", \"on_hand\", \"committed\", \"incoming\", \"reserved\"]) { name quantity } } } } } } } }";

const FILES: &str = "{ files { edges { node { id alt createdAt fileStatus \
    ... on MediaImage { mimeType image { url } originalSource { url fileSize } } \
    ... on GenericFile { url mimeType originalFileSize } \
    ... on Video { originalSource { url fileSize } } } } } }";

const LOCATIONS: &str =
    "query($after: String) { locations(first: 1, after: $after) { nodes { id name isActive \
    address { address1 city countryCode zip } } pageInfo { hasNextPage endCursor } } }";

fn quantities(level: &Value) -> BTreeMap<String, i64> {
    level["quantities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["name"].as_str().unwrap().to_string(),
                q["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn inventory_levels_export_in_bulk_and_add_up() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let lines = bulk(&shop, INVENTORY);
    let roots: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("__parentId").is_none())
        .collect();
    let variants: usize = store.products.values().map(|p| p.variants.len()).sum();
    assert_eq!(roots.len(), variants);
    for p in store.products.values() {
        for v in &p.variants {
            let gid = g("InventoryItem", v.inventory_item_id);
            let item = roots.iter().find(|l| l["id"] == gid).unwrap();
            assert_eq!(item["sku"], v.sku.as_str());
            assert_eq!(item["tracked"], true);
            assert_eq!(item["variant"]["id"], g("ProductVariant", v.id));
            let model = &store.inventory[&v.inventory_item_id];
            match model.unit_cost_cents {
                Some(c) => assert_eq!(
                    item["unitCost"],
                    json!({"amount": crate::model::money(c), "currencyCode": "USD"})
                ),
                None => assert_eq!(item["unitCost"], Value::Null),
            }
            let levels = children(&lines, &gid);
            assert_eq!(levels.len(), 2);
            let mut available = 0;
            for (l, m) in levels.iter().zip(&model.levels) {
                assert_eq!(
                    l["id"],
                    format!(
                        "gid://shopify/InventoryLevel/{}?inventory_item_id={}",
                        m.id, model.id
                    )
                );
                assert_eq!(l["location"]["id"], g("Location", m.location_id));
                assert_eq!(
                    l["location"]["name"],
                    store.locations[&m.location_id].name.as_str()
                );
                let q = quantities(l);
                assert_eq!(q.len(), 5);
                assert_eq!(
                    q["on_hand"],
                    q["available"] + q["committed"] + q["reserved"]
                );
                assert_eq!(q["incoming"], m.incoming);
                available += q["available"];
            }
            assert_eq!(available, v.inventory_quantity);
        }
    }
    // Two connections only.
    assert!(lines.len() == roots.len() * 3);
}

#[test]
fn quantity_changes_land_on_the_first_location() {
    let shop = start(StoreParams {
        products: 4,
        ..StoreParams::default()
    });
    let (variant, item) = shop.model(|s| {
        let v = &s.products.values().next().unwrap().variants[0];
        (v.id, v.inventory_item_id)
    });
    let before = shop.model(|s| s.inventory[&item].clone());
    shop.model_mut(|s| {
        for p in s.products.values_mut() {
            for v in p.variants.iter_mut().filter(|v| v.id == variant) {
                v.inventory_quantity += 7;
            }
        }
    });
    let after = shop.model(|s| s.inventory[&item].clone());
    assert_eq!(after.levels[0].available, before.levels[0].available + 7);
    assert_eq!(after.levels[1], before.levels[1]);
    let q = "query($id: ID!) { inventoryItem(id: $id) { inventoryLevels(first: 5) { nodes { quantities(names: [\"available\"]) { quantity } } } } }";
    let r = gql(&shop, q, json!({ "id": g("InventoryItem", item) }));
    assert_eq!(
        r["data"]["inventoryItem"]["inventoryLevels"]["nodes"][0]["quantities"][0]["quantity"],
        after.levels[0].available
    );
    let bad = gql(&shop, "query($id: ID!) { inventoryItem(id: $id) { inventoryLevels(first: 5) { nodes { quantities(names: [\"nope\"]) { quantity } } } } }", json!({ "id": g("InventoryItem", item) }));
    assert!(bad["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("nope"));
    let missing = gql(&shop, "query($id: ID!) { inventoryItem(id: $id) { inventoryLevels(first: 5) { nodes { quantities { quantity } } } } }", json!({ "id": g("InventoryItem", item) }));
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        "missingRequiredArguments"
    );
    // Through the variant too.
    let via = gql(&shop, "{ products(first: 1) { nodes { variants(first: 1) { nodes { inventoryItem { id inventoryLevels(first: 2) { nodes { location { name } } } } } } } } }", Value::Null);
    let levels = &via["data"]["products"]["nodes"][0]["variants"]["nodes"][0]["inventoryItem"]
        ["inventoryLevels"]["nodes"];
    assert_eq!(levels[0]["location"]["name"], "Main Warehouse");
}

#[test]
fn deleted_products_take_their_inventory_and_files_along() {
    let shop = start(StoreParams {
        products: 6,
        ..StoreParams::default()
    });
    let (id, items, media) = shop.model(|s| {
        let p = s.products.values().find(|p| !p.media.is_empty()).unwrap();
        let items: Vec<u64> = p.variants.iter().map(|v| v.inventory_item_id).collect();
        (p.id, items, p.media.clone())
    });
    assert!(shop.delete_product(id));
    let lines = bulk(&shop, INVENTORY);
    for i in items {
        assert!(lines.iter().all(|l| l["id"] != g("InventoryItem", i)));
    }
    let files = bulk(&shop, FILES);
    for m in media {
        assert!(files.iter().all(|l| l["id"] != g("MediaImage", m)));
    }
}

#[test]
fn locations_page_through() {
    let shop = start(StoreParams {
        products: 2,
        ..StoreParams::default()
    });
    let first = gql(&shop, LOCATIONS, Value::Null);
    let conn = &first["data"]["locations"];
    assert_eq!(conn["nodes"][0]["name"], "Main Warehouse");
    assert_eq!(conn["nodes"][0]["isActive"], true);
    assert_eq!(
        conn["nodes"][0]["address"],
        json!({"address1": "120 Harbor Way", "city": "Brooklyn", "countryCode": "US", "zip": "11201"})
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let second = gql(
        &shop,
        LOCATIONS,
        json!({ "after": conn["pageInfo"]["endCursor"] }),
    );
    assert_eq!(
        second["data"]["locations"]["nodes"][0]["name"],
        "Downtown Store"
    );
    assert_eq!(
        second["data"]["locations"]["pageInfo"]["hasNextPage"],
        false
    );
}

#[test]
fn files_list_product_images_and_generic_files() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let lines = bulk(&shop, FILES);
    assert_eq!(lines.len(), store.media.len() + store.files.len());
    for m in store.media.values() {
        let line = lines
            .iter()
            .find(|l| l["id"] == g("MediaImage", m.id))
            .unwrap();
        assert_eq!(line["originalSource"]["fileSize"], m.bytes.len());
        assert_eq!(line["fileStatus"], "READY");
        assert_eq!(line["mimeType"], "image/jpeg");
    }
    let before = shop.counters();
    for f in store.files.values() {
        let line = lines
            .iter()
            .find(|l| l["id"] == g("GenericFile", f.id))
            .unwrap();
        assert_eq!(line["mimeType"], "application/pdf");
        assert_eq!(line["originalFileSize"], f.bytes.len());
        assert_eq!(line["alt"], f.alt.as_str());
        assert!(line.get("image").is_none());
        let got = get_url(line["url"].as_str().unwrap());
        assert_eq!(got.status, 200);
        assert_eq!(got.header("Content-Type"), Some("application/pdf"));
        assert!(got.body == f.bytes);
    }
    let after = shop.counters();
    assert_eq!(
        after.media_downloads,
        before.media_downloads + store.files.len() as u64
    );
    let f = store.files.values().next().unwrap();
    assert_eq!(
        get_url(&format!("{}/_cdn/files/{}/other.pdf", shop.url(), f.id)).status,
        404
    );
    // Paginated, and filtered by type.
    let r = gql(
        &shop,
        "{ files(first: 10, query: \"media_type:GENERIC_FILE\") { nodes { __typename id } } }",
        Value::Null,
    );
    let nodes = r["data"]["files"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), store.files.len());
    assert!(nodes.iter().all(|n| n["__typename"] == "GenericFile"));
}

#[test]
fn stock_scopes_are_enforced() {
    let shop = start(StoreParams {
        products: 2,
        ..StoreParams::default()
    });
    for (scope, q) in [
        ("read_locations", "{ locations(first: 1) { nodes { id } } }"),
        (
            "read_inventory",
            "{ inventoryItems(first: 1) { nodes { id } } }",
        ),
        ("read_files", "{ files(first: 1) { nodes { id } } }"),
    ] {
        assert!(gql(&shop, q, Value::Null).get("errors").is_none());
        shop.deny_scope(scope);
        assert_denied(&gql(&shop, q, Value::Null), scope);
        shop.allow_scope(scope);
    }
    shop.deny_scope("read_inventory");
    assert_denied(&bulk_start(&shop, INVENTORY), "read_inventory");
    let nested = gql(&shop, "{ products(first: 1) { nodes { variants(first: 1) { nodes { inventoryItem { id inventoryLevels(first: 1) { nodes { id } } } } } } } }", Value::Null);
    assert_denied(&nested, "read_inventory");
    shop.deny_scope("read_files");
    assert_denied(&bulk_start(&shop, FILES), "read_files");
}

#[test]
fn catalogue_connections_filter_by_query() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let p = store.products.values().nth(3).unwrap();
    let c = store.collections.values().nth(1).unwrap();
    let page = store.pages.values().nth(2).unwrap();
    let r = store.redirects.values().nth(1).unwrap();
    let q = "query($p: String, $c: String, $g: String, $r: String) { \
             products(first: 5, query: $p) { nodes { id } } collections(first: 5, query: $c) { nodes { id } } \
             pages(first: 1, query: $g) { nodes { id } } urlRedirects(first: 5, query: $r) { nodes { id path target } } }";
    let got = gql(
        &shop,
        q,
        json!({
            "p": format!("handle:{}", p.handle),
            "c": format!("handle:'{}'", c.handle),
            "g": format!("handle:'{}'", page.handle),
            "r": format!("path:{}", r.path),
        }),
    );
    let d = &got["data"];
    assert_eq!(
        d["products"]["nodes"],
        json!([{ "id": g("Product", p.id) }])
    );
    assert_eq!(
        d["collections"]["nodes"],
        json!([{ "id": g("Collection", c.id) }])
    );
    assert_eq!(d["pages"]["nodes"], json!([{ "id": g("Page", page.id) }]));
    assert_eq!(
        d["urlRedirects"]["nodes"],
        json!([{ "id": g("UrlRedirect", r.id), "path": r.path, "target": r.target }])
    );
    // Without a query, everything; an unknown field is ignored.
    let all = gql(
        &shop,
        "{ pages(first: 50, query: \"colour:blue\") { nodes { id } } }",
        Value::Null,
    );
    assert_eq!(
        all["data"]["pages"]["nodes"].as_array().unwrap().len(),
        store.pages.len()
    );
    let by = gql(&shop, "query($h: String!) { collectionByIdentifier(identifier: {handle: $h}) { id } collectionByHandle(handle: $h) { id } }", json!({ "h": c.handle }));
    assert_eq!(numeric(&by["data"]["collectionByIdentifier"]["id"]), c.id);
    assert_eq!(numeric(&by["data"]["collectionByHandle"]["id"]), c.id);
    let bad = gql(
        &shop,
        "{ collectionByIdentifier(identifier: {}) { id } }",
        Value::Null,
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
}

#[test]
fn product_set_variants_get_inventory_levels() {
    let shop = start(StoreParams {
        products: 2,
        ..StoreParams::default()
    });
    let set = "mutation set($input: ProductSetInput!) { productSet(input: $input, synchronous: true, \
               identifier: { handle: \"stocked\" }) { product { id } userErrors { field message } } }";
    let variant = |size: &str, qty: i64| {
        json!({ "optionValues": [{ "optionName": "Size", "name": size }], "price": "5.00",
        "inventoryQuantities": [{ "locationId": "gid://shopify/Location/1", "name": "available", "quantity": qty }] })
    };
    let input = json!({ "title": "Stocked", "handle": "stocked",
        "productOptions": [{ "name": "Size", "values": [{ "name": "S" }, { "name": "L" }] }],
        "variants": [variant("S", 4), variant("L", 9)] });
    let r = gql(&shop, set, json!({ "input": input }));
    assert_eq!(r["data"]["productSet"]["userErrors"], json!([]), "{r}");
    let id = numeric(&r["data"]["productSet"]["product"]["id"]);
    let items = shop.model(|s| {
        crate::tests_model_more::assert_inventory_consistent(s);
        s.products[&id]
            .variants
            .iter()
            .map(|v| v.inventory_item_id)
            .collect::<Vec<_>>()
    });
    let sums: Vec<i64> = shop.model(|s| {
        items
            .iter()
            .map(|i| s.inventory[i].levels.iter().map(|l| l.available).sum())
            .collect()
    });
    assert_eq!(sums, [4, 9]);
    // Fewer variants: the dropped one's inventory item goes.
    let input = json!({ "title": "Stocked", "handle": "stocked",
        "productOptions": [{ "name": "Size", "values": [{ "name": "S" }] }], "variants": [variant("S", 6)] });
    let r = gql(&shop, set, json!({ "input": input }));
    assert_eq!(r["data"]["productSet"]["userErrors"], json!([]), "{r}");
    shop.model(|s| {
        crate::tests_model_more::assert_inventory_consistent(s);
        assert!(!s.inventory.contains_key(&items[1]));
        assert_eq!(
            s.inventory[&items[0]]
                .levels
                .iter()
                .map(|l| l.available)
                .sum::<i64>(),
            6
        );
    });
}
