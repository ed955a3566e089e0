//! Tests of bulk operations over HTTP: the life cycle, the JSONL shapes of every entity, limits,
//! and the injected failures.

use crate::tests_http::{get_url, gql, queries, start};
use crate::{FakeShop, StoreParams};
use serde_json::{json, Value};

/// Starts a bulk query; returns the operation's GID.
fn run(shop: &FakeShop, query: &str) -> String {
    let r = gql(shop, queries::RUN_BULK, json!({ "query": query }));
    let payload = &r["data"]["bulkOperationRunQuery"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    assert_eq!(payload["bulkOperation"]["status"], "CREATED");
    assert_eq!(r["extensions"]["cost"]["requestedQueryCost"], 10);
    payload["bulkOperation"]["id"].as_str().unwrap().to_string()
}

/// Polls until the operation is finished; returns the last `node`.
fn finish(shop: &FakeShop, id: &str) -> Value {
    for _ in 0..5 {
        let r = gql(shop, queries::POLL_BULK, json!({ "id": id }));
        assert_eq!(r["extensions"]["cost"]["requestedQueryCost"], 1);
        let node = r["data"]["node"].clone();
        if node["status"] != "RUNNING" && node["status"] != "CREATED" {
            return node;
        }
        assert_eq!(node["url"], Value::Null);
        assert_eq!(node["objectCount"], "0");
    }
    panic!("bulk operation never finished");
}

fn lines(body: &[u8]) -> Vec<Value> {
    std::str::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs a bulk query to completion and downloads its lines.
fn export(shop: &FakeShop, query: &str) -> Vec<Value> {
    let id = run(shop, query);
    let node = finish(shop, &id);
    assert_eq!(node["status"], "COMPLETED");
    let r = get_url(node["url"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/jsonl"));
    assert_eq!(node["fileSize"], r.body.len().to_string());
    let out = lines(&r.body);
    assert_eq!(node["objectCount"], out.len().to_string());
    out
}

fn numeric(gid: &Value) -> u64 {
    gid.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn products_export_is_grouped_depth_first_and_a_snapshot() {
    let shop = start(StoreParams::default());
    let id = run(&shop, queries::PRODUCTS);
    // One at a time.
    let busy = gql(&shop, queries::RUN_BULK, json!({ "query": queries::PAGES }));
    let err = &busy["data"]["bulkOperationRunQuery"]["userErrors"][0];
    assert_eq!(
        err["message"],
        format!("A bulk query operation for this app and shop is already in progress: {id}.")
    );
    // The JSONL was taken at creation: a deletion now does not show.
    let store = shop.model(|s| s.clone());
    let victim = *store.products.keys().next().unwrap();
    assert!(shop.delete_product(victim));
    let first = gql(&shop, queries::POLL_BULK, json!({ "id": id }));
    assert_eq!(first["data"]["node"]["status"], "RUNNING");
    let node = finish(&shop, &id);
    assert_eq!(node["status"], "COMPLETED");
    assert_eq!(node["errorCode"], Value::Null);
    assert_eq!(node["partialDataUrl"], Value::Null);
    let current = gql(
        &shop,
        "{ currentBulkOperation { id status url } }",
        Value::Null,
    );
    assert_eq!(current["data"]["currentBulkOperation"]["id"], id.as_str());
    let all = lines(&get_url(node["url"].as_str().unwrap()).body);
    assert!(all
        .iter()
        .any(|l| l["id"] == format!("gid://shopify/Product/{victim}")));
    assert_eq!(shop.counters().jsonl_downloads, 1);
    assert_eq!(shop.counters().bulk_operations, 1);

    let with_collections = queries::PRODUCTS.contains("collections {");
    let mut i = 0;
    let mut media_checked = 0;
    for product in store.products.values() {
        let line = &all[i];
        i += 1;
        assert_eq!(line["id"], format!("gid://shopify/Product/{}", product.id));
        assert!(line.get("__parentId").is_none());
        assert_eq!(line["handle"], product.handle.as_str());
        assert_eq!(line["tags"], json!(product.tags));
        assert!(line.get("variants").is_none() && line.get("media").is_none());
        assert_eq!(
            line["options"].as_array().unwrap().len(),
            product.options.len()
        );
        assert_eq!(line["seo"]["description"], json!(product.seo_description));
        let parent = line["id"].clone();
        for v in &product.variants {
            let l = &all[i];
            i += 1;
            assert_eq!(l["id"], format!("gid://shopify/ProductVariant/{}", v.id));
            assert_eq!(l["__parentId"], parent);
            assert_eq!(l["price"], v.price.as_str());
            assert_eq!(l["compareAtPrice"], json!(v.compare_at_price));
            assert_eq!(l["inventoryQuantity"], v.inventory_quantity);
            assert_eq!(
                l["inventoryItem"]["id"],
                format!("gid://shopify/InventoryItem/{}", v.inventory_item_id)
            );
            assert_eq!(
                l["selectedOptions"].as_array().unwrap().len(),
                v.selected_options.len()
            );
            for m in &v.metafields {
                let l2 = &all[i];
                i += 1;
                assert_eq!(l2["id"], format!("gid://shopify/Metafield/{}", m.id));
                assert_eq!(
                    l2["__parentId"],
                    format!("gid://shopify/ProductVariant/{}", v.id)
                );
                assert_eq!(l2["value"], m.value.as_str());
            }
        }
        for m in &product.media {
            let l = &all[i];
            i += 1;
            let media = &store.media[m];
            assert_eq!(l["id"], format!("gid://shopify/MediaImage/{m}"));
            assert_eq!(l["mediaContentType"], "IMAGE");
            assert_eq!(l["__parentId"], parent);
            let original = l["originalSource"]["url"].as_str().unwrap();
            assert!(
                original.contains(&format!("/_cdn/files/{m}/{}?v=", media.filename)),
                "{original}"
            );
            assert!(l["image"]["url"].as_str().unwrap().contains("_800x800"));
            assert_eq!(l["originalSource"]["fileSize"], media.bytes.len());
            assert_eq!(l["image"]["width"], media.width);
            if product.id != victim && media_checked < 3 {
                assert_eq!(get_url(original).body, media.bytes);
                media_checked += 1;
            }
        }
        for m in &product.metafields {
            assert_eq!(all[i]["id"], format!("gid://shopify/Metafield/{}", m.id));
            assert_eq!(all[i]["__parentId"], parent);
            i += 1;
        }
        if with_collections {
            for c in &product.collections {
                assert_eq!(
                    all[i],
                    json!({"id": format!("gid://shopify/Collection/{c}"), "handle": store.collections[c].handle, "__parentId": parent})
                );
                i += 1;
            }
        }
    }
    assert_eq!(i, all.len());
    assert!(media_checked > 0);
}

#[test]
fn every_entity_exports_with_its_shapes() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());

    let cols = export(&shop, queries::COLLECTIONS);
    let roots: Vec<&Value> = cols
        .iter()
        .filter(|l| l.get("__parentId").is_none())
        .collect();
    assert_eq!(roots.len(), store.collections.len());
    for c in store.collections.values() {
        let gid = format!("gid://shopify/Collection/{}", c.id);
        let line = roots.iter().find(|l| l["id"] == gid).unwrap();
        let members: Vec<u64> = cols
            .iter()
            .filter(|l| l["__parentId"] == gid && l["id"].as_str().unwrap().contains("/Product/"))
            .map(|l| numeric(&l["id"]))
            .collect();
        assert_eq!(members, c.products);
        match &c.rule_set {
            Some(r) => assert_eq!(
                line["ruleSet"]["rules"][0]["column"],
                r.rules[0].column.as_str()
            ),
            None => assert_eq!(line["ruleSet"], Value::Null),
        }
    }

    let pages = export(&shop, queries::PAGES);
    assert_eq!(
        pages
            .iter()
            .filter(|l| l.get("__parentId").is_none())
            .count(),
        store.pages.len()
    );
    assert!(pages[0]["body"].as_str().unwrap().starts_with("<h1>"));

    let redirects = export(&shop, queries::REDIRECTS);
    assert_eq!(redirects.len(), store.redirects.len());
    assert!(redirects[0]["path"].is_string() && redirects[0]["target"].is_string());

    let customers = export(&shop, queries::CUSTOMERS);
    for c in store.customers.values() {
        let line = customers
            .iter()
            .find(|l| l["id"] == format!("gid://shopify/Customer/{}", c.id))
            .unwrap();
        assert_eq!(line["defaultEmailAddress"]["emailAddress"], json!(c.email));
        assert_eq!(
            line["defaultPhoneNumber"]
                .get("phoneNumber")
                .cloned()
                .unwrap_or(Value::Null),
            json!(c.phone)
        );
        assert_eq!(
            line["addresses"].as_array().unwrap().len(),
            c.addresses.len()
        );
        assert_eq!(line["numberOfOrders"], c.number_of_orders.to_string());
        assert_eq!(line["amountSpent"]["currencyCode"], "USD");
    }

    let orders = export(&shop, queries::ORDERS);
    let mut guest = 0;
    for o in store.orders.values() {
        let gid = format!("gid://shopify/Order/{}", o.id);
        let line = orders.iter().find(|l| l["id"] == gid).unwrap();
        match o.customer_id {
            Some(c) => assert_eq!(
                line["customer"]["id"],
                format!("gid://shopify/Customer/{c}")
            ),
            None => {
                guest += 1;
                assert_eq!(line["customer"], Value::Null);
            }
        }
        assert_eq!(
            line["totalPriceSet"]["shopMoney"]["amount"],
            o.total.as_str()
        );
        assert_eq!(
            line["shippingAddress"]["city"],
            json!(o.shipping_address.as_ref().map(|a| a.city.clone()))
        );
        let items: Vec<&Value> = orders.iter().filter(|l| l["__parentId"] == gid).collect();
        assert_eq!(items.len(), o.line_items.len());
        assert_eq!(
            items[0]["originalUnitPriceSet"]["shopMoney"]["amount"],
            o.line_items[0].unit_price.as_str()
        );
        assert_eq!(
            items[0]["variant"]["id"],
            format!(
                "gid://shopify/ProductVariant/{}",
                o.line_items[0].variant_id
            )
        );
    }
    let _ = guest;
}

#[test]
fn empty_results_have_no_url() {
    let shop = start(StoreParams {
        products: 0,
        orders: 0,
        ..StoreParams::default()
    });
    let id = run(&shop, queries::PRODUCTS);
    let node = finish(&shop, &id);
    assert_eq!(node["status"], "COMPLETED");
    assert_eq!(node["objectCount"], "0");
    assert_eq!(node["url"], Value::Null);
}

#[test]
fn invalid_bulk_queries_are_user_errors() {
    let shop = start(StoreParams {
        products: 3,
        ..StoreParams::default()
    });
    let six = "{ products { edges { node { id variants { edges { node { id metafields { edges { node { id } } } } } } \
               media { edges { node { id } } } metafields { edges { node { id } } } collections { edges { node { id } } } \
               c2: collections { edges { node { id } } } } } } }";
    for (query, needle) in [
        (six, "more than 5 connections"),
        ("{ shop { id } }", "Invalid bulk query"),
        (
            "{ widgets { edges { node { id } } } }",
            "Invalid bulk query",
        ),
        ("{ products { edges { node { id nope } } } }", "nope"),
        ("{ products { edges ", "Invalid bulk query"),
    ] {
        let r = gql(&shop, queries::RUN_BULK, json!({ "query": query }));
        let payload = &r["data"]["bulkOperationRunQuery"];
        assert_eq!(payload["bulkOperation"], Value::Null, "{query}");
        let err = &payload["userErrors"][0];
        assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
        assert_eq!(err["field"], json!(["query"]));
        assert_eq!(err["code"], "INVALID");
    }
    assert_eq!(shop.counters().bulk_operations, 0);
}

#[test]
fn failed_and_expired_operations() {
    let shop = start(StoreParams::default());
    shop.fail_next_bulk(1);
    let id = run(&shop, queries::PRODUCTS);
    let node = finish(&shop, &id);
    assert_eq!(node["status"], "FAILED");
    assert_eq!(node["errorCode"], "INTERNAL_SERVER_ERROR");
    assert_eq!(node["url"], Value::Null);
    let partial = get_url(node["partialDataUrl"].as_str().unwrap());
    assert_eq!(partial.status, 200);
    let half = lines(&partial.body);
    assert_eq!(node["objectCount"], half.len().to_string());

    shop.expire_next_bulk(1);
    let full = export_expired(&shop);
    assert_eq!(full.status, 403);
    assert!(full.text().contains("AccessDenied"));
    let again = export(&shop, queries::PRODUCTS);
    assert_eq!(half.len(), again.len() / 2);
    assert_eq!(half[..], again[..half.len()]);
}

fn export_expired(shop: &FakeShop) -> crate::tests_http::Resp {
    let id = run(shop, queries::PRODUCTS);
    let node = finish(shop, &id);
    assert_eq!(node["status"], "COMPLETED");
    get_url(node["url"].as_str().unwrap())
}

#[test]
fn product_collections_list_manual_memberships() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let all = export(
        &shop,
        "{ products { edges { node { id collections { edges { node { id handle } } } } } } }",
    );
    for p in store.products.values() {
        let gid = format!("gid://shopify/Product/{}", p.id);
        let listed: Vec<u64> = all
            .iter()
            .filter(|l| l["__parentId"] == gid)
            .map(|l| numeric(&l["id"]))
            .collect();
        assert_eq!(listed, p.collections);
    }
    assert!(store.products.values().any(|p| !p.collections.is_empty()));
}
