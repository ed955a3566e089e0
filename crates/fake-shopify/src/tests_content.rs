//! Tests of blogs and articles, menus and metaobjects over HTTP: bulk and paginated shapes,
//! filters, scopes and the day's changes.

use crate::tests_http::{gql, start};
use crate::tests_util::{assert_denied, bulk, bulk_start, children, g, numeric};
use crate::{advance_store, generate_store, StoreParams};
use serde_json::{json, Value};

const MF: &str = "metafields { edges { node { id namespace key type value } } }";

fn blogs_bulk() -> String {
    format!(
        "{{ blogs {{ edges {{ node {{ id handle title templateSuffix commentPolicy createdAt updatedAt {MF} \
         articles {{ edges {{ node {{ id handle title body summary author {{ name }} tags isPublished publishedAt \
         templateSuffix image {{ url altText }} createdAt updatedAt {MF} }} }} }} }} }} }} }}"
    )
}

const MENUS: &str = "query menus($after: String) { menus(first: 1, after: $after) { nodes { id handle title isDefault \
    items { id title type url resourceId tags items { id title type url resourceId tags \
    items { id title type url resourceId tags } } } } pageInfo { hasNextPage endCursor } } }";

const DEFINITIONS: &str = "query defs($after: String) { metaobjectDefinitions(first: 10, after: $after) { nodes { \
    id type name description displayNameKey fieldDefinitions { key name description required type { name } \
    validations { name value } } } pageInfo { hasNextPage endCursor } } }";

const METAOBJECTS: &str = "query objs($type: String!, $after: String) { metaobjects(type: $type, first: 2, after: $after) { \
    nodes { id handle type displayName updatedAt fields { key type value } } pageInfo { hasNextPage endCursor } } }";

#[test]
fn blogs_export_in_bulk_with_articles_and_metafields() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let lines = bulk(&shop, &blogs_bulk());
    let roots: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("__parentId").is_none())
        .collect();
    assert_eq!(roots.len(), 2);
    for b in store.blogs.values() {
        let gid = g("Blog", b.id);
        let line = roots.iter().find(|l| l["id"] == gid).unwrap();
        assert_eq!(line["handle"], b.handle.as_str());
        assert_eq!(line["commentPolicy"], b.comment_policy.as_str());
        assert_eq!(line["templateSuffix"], json!(b.template_suffix));
        let kids = children(&lines, &gid);
        let metafields: Vec<_> = kids
            .iter()
            .filter(|l| l["id"].as_str().unwrap().contains("/Metafield/"))
            .collect();
        assert_eq!(metafields.len(), b.metafields.len());
        let articles: Vec<_> = kids
            .iter()
            .filter(|l| l["id"].as_str().unwrap().contains("/Article/"))
            .collect();
        let want: Vec<u64> = store
            .articles
            .values()
            .filter(|a| a.blog_id == b.id)
            .map(|a| a.id)
            .collect();
        assert_eq!(
            articles
                .iter()
                .map(|l| numeric(&l["id"]))
                .collect::<Vec<_>>(),
            want
        );
        for line in articles {
            let a = &store.articles[&numeric(&line["id"])];
            assert_eq!(line["author"]["name"], a.author_name.as_str());
            assert_eq!(line["body"], a.body.as_str());
            assert_eq!(line["tags"], json!(a.tags));
            assert_eq!(line["isPublished"], a.is_published);
            assert_eq!(line["publishedAt"], json!(a.published_at));
            match &a.image {
                Some(i) => {
                    assert!(line["image"]["url"]
                        .as_str()
                        .unwrap()
                        .starts_with("http://127.0.0.1:"));
                    assert_eq!(line["image"]["altText"], json!(i.alt_text));
                }
                None => assert_eq!(line["image"], Value::Null),
            }
            let mf = children(&lines, line["id"].as_str().unwrap());
            assert_eq!(mf.len(), a.metafields.len());
            for (l, m) in mf.iter().zip(&a.metafields) {
                assert_eq!(l["key"], m.key.as_str());
                assert_eq!(l["value"], m.value.as_str());
            }
        }
    }
    // Depth first: each article's metafields right after it.
    let first_article = lines
        .iter()
        .position(|l| l["id"].as_str().unwrap().contains("/Article/"))
        .unwrap();
    assert!(lines[..first_article]
        .iter()
        .all(|l| !l["id"].as_str().unwrap().contains("/Article/")));
}

#[test]
fn article_images_download_from_the_cdn() {
    let shop = start(StoreParams::default());
    let r = gql(
        &shop,
        "{ articles(first: 50) { nodes { id image { url } } } }",
        Value::Null,
    );
    let nodes = r["data"]["articles"]["nodes"].as_array().unwrap().clone();
    let with_image: Vec<&Value> = nodes.iter().filter(|n| !n["image"].is_null()).collect();
    assert!(!with_image.is_empty());
    let before = shop.counters().media_downloads;
    let got = crate::tests_http::get_url(with_image[0]["image"]["url"].as_str().unwrap());
    assert_eq!(got.status, 200);
    assert!(got.body.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(shop.counters().media_downloads, before + 1);
    let bad = with_image[0]["image"]["url"]
        .as_str()
        .unwrap()
        .replace(".jpg", "x.jpg");
    assert_eq!(crate::tests_http::get_url(&bad).status, 404);
}

#[test]
fn blogs_and_articles_paginate_and_filter() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let q = "query($after: String) { blogs(first: 1, after: $after) { nodes { id handle articlesCount { count } \
             articles(first: 2) { nodes { handle } pageInfo { hasNextPage } } } pageInfo { hasNextPage endCursor } } }";
    let first = gql(&shop, q, Value::Null);
    let page = &first["data"]["blogs"];
    assert_eq!(page["nodes"][0]["handle"], "news");
    assert_eq!(page["nodes"][0]["articlesCount"]["count"], 5);
    assert_eq!(
        page["nodes"][0]["articles"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        page["nodes"][0]["articles"]["pageInfo"]["hasNextPage"],
        true
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let second = gql(&shop, q, json!({ "after": page["pageInfo"]["endCursor"] }));
    assert_eq!(second["data"]["blogs"]["nodes"][0]["handle"], "journal");
    assert_eq!(second["data"]["blogs"]["pageInfo"]["hasNextPage"], false);

    let a = store.articles.values().nth(6).unwrap();
    let r = gql(
        &shop,
        "query($q: String) { articles(first: 5, query: $q) { nodes { id handle blog { id handle } } } }",
        json!({ "q": format!("handle:'{}' blog_id:{}", a.handle, a.blog_id) }),
    );
    let nodes = r["data"]["articles"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{r}");
    assert_eq!(nodes[0]["id"], g("Article", a.id));
    assert_eq!(nodes[0]["blog"]["id"], g("Blog", a.blog_id));
    let one = gql(&shop, "query($id: ID!) { article(id: $id) { title } node(id: $id) { ... on Article { handle } } }", json!({ "id": g("Article", a.id) }));
    assert_eq!(one["data"]["article"]["title"], a.title.as_str());
    assert_eq!(one["data"]["node"]["handle"], a.handle.as_str());
    let none = gql(
        &shop,
        "{ articles(first: 5, query: \"handle:nope\") { nodes { id } } }",
        Value::Null,
    );
    assert_eq!(none["data"]["articles"]["nodes"], json!([]));
}

#[test]
fn menus_page_through_with_three_levels() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let first = gql(&shop, MENUS, Value::Null);
    let menus = &first["data"]["menus"];
    assert_eq!(menus["pageInfo"]["hasNextPage"], true);
    let main = &menus["nodes"][0];
    assert_eq!(main["handle"], "main-menu");
    assert_eq!(main["isDefault"], true);
    let catalog = main["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "CATALOG")
        .unwrap();
    assert_eq!(catalog["url"], "/collections/all");
    let collection = &catalog["items"][0];
    assert_eq!(collection["type"], "COLLECTION");
    let cid = numeric(&collection["resourceId"]);
    assert_eq!(
        collection["url"],
        format!("/collections/{}", store.collections[&cid].handle)
    );
    let product = &collection["items"][0];
    assert_eq!(product["type"], "PRODUCT");
    assert!(store.collections[&cid]
        .products
        .contains(&numeric(&product["resourceId"])));
    assert_eq!(
        product["items"],
        json!(null),
        "the third level selects no items"
    );
    let second = gql(
        &shop,
        MENUS,
        json!({ "after": menus["pageInfo"]["endCursor"] }),
    );
    let footer = &second["data"]["menus"]["nodes"][0];
    assert_eq!(footer["handle"], "footer");
    assert_eq!(second["data"]["menus"]["pageInfo"]["hasNextPage"], false);
    let http = footer["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "HTTP")
        .unwrap();
    assert_eq!(http["resourceId"], Value::Null);
    assert!(http["url"].as_str().unwrap().starts_with("https://"));
    // A renamed collection's link follows its handle.
    shop.model_mut(|s| s.collections.get_mut(&cid).unwrap().handle = "renamed".into());
    let again = gql(&shop, MENUS, Value::Null);
    assert_eq!(
        again["data"]["menus"]["nodes"][0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "CATALOG")
            .unwrap()["items"][0]["url"],
        "/collections/renamed"
    );
}

#[test]
fn a_deleted_linked_product_leaves_the_menu_the_next_day() {
    let p = StoreParams {
        edit_rate: 0.0,
        delete_rate: 0.95,
        add_rate: 0.0,
        ..StoreParams::default()
    };
    let mut s = generate_store(&p);
    let main = s
        .menus
        .values()
        .find(|m| m.handle == "main-menu")
        .unwrap()
        .id;
    let c = advance_store(&mut s, &p);
    assert!(c.menus_edited.contains(&main), "{c:?}");
    assert!(!c.products_deleted.is_empty());
    let json = serde_json::to_value(&c).unwrap();
    for k in [
        "articles_edited",
        "articles_added",
        "menus_edited",
        "metaobjects_edited",
        "inventory_items_added",
        "inventory_items_edited",
        "inventory_items_deleted",
    ] {
        assert!(json.get(k).is_some(), "{k}");
    }
}

#[test]
fn metaobject_definitions_and_entries() {
    let shop = start(StoreParams::default());
    let store = shop.model(|s| s.clone());
    let r = gql(&shop, DEFINITIONS, Value::Null);
    let defs = r["data"]["metaobjectDefinitions"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0]["type"], "designer");
    assert_eq!(defs[0]["displayNameKey"], "name");
    assert_eq!(
        defs[0]["fieldDefinitions"][0],
        json!({"key": "name", "name": "Name", "description": null, "required": true,
        "type": {"name": "single_line_text_field"}, "validations": [{"name": "max", "value": "100"}]})
    );
    assert_eq!(
        r["data"]["metaobjectDefinitions"]["pageInfo"]["hasNextPage"],
        false
    );

    let mut handles = Vec::new();
    let mut after = Value::Null;
    loop {
        let r = gql(
            &shop,
            METAOBJECTS,
            json!({ "type": "designer", "after": after }),
        );
        let conn = &r["data"]["metaobjects"];
        for n in conn["nodes"].as_array().unwrap() {
            assert_eq!(n["type"], "designer");
            let m = &store.metaobjects[&numeric(&n["id"])];
            assert_eq!(n["updatedAt"], m.updated_at.as_str());
            assert_eq!(
                n["displayName"],
                m.fields[0].value.clone().unwrap().as_str()
            );
            assert_eq!(n["fields"].as_array().unwrap().len(), 3);
            assert_eq!(n["fields"][0]["type"], "single_line_text_field");
            handles.push(n["handle"].as_str().unwrap().to_string());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(handles, ["ada-okafor", "ben-tanaka", "chlo-martin"]);
    let faq = gql(&shop, METAOBJECTS, json!({ "type": "faq" }));
    assert_eq!(
        faq["data"]["metaobjects"]["nodes"][0]["fields"][2],
        json!({"key": "position", "type": "number_integer", "value": "1"})
    );
    let none = gql(&shop, METAOBJECTS, json!({ "type": "nope" }));
    assert_eq!(none["data"]["metaobjects"]["nodes"], json!([]));
    let missing = gql(
        &shop,
        "{ metaobjects(first: 5) { nodes { id } } }",
        Value::Null,
    );
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        "missingRequiredArguments"
    );
    let by_handle = gql(&shop, "{ metaobjectByHandle(handle: {type: \"faq\", handle: \"do-you-ship-abroad\"}) { field(key: \"answer\") { value jsonValue } } }", Value::Null);
    assert_eq!(
        by_handle["data"]["metaobjectByHandle"]["field"]["value"],
        "Yes, to 40 countries."
    );
}

#[test]
fn content_scopes_are_enforced() {
    let shop = start(StoreParams {
        products: 3,
        ..StoreParams::default()
    });
    let cases = [
        ("read_content", "{ blogs(first: 1) { nodes { id } } }"),
        ("read_content", "{ articles(first: 1) { nodes { id } } }"),
        (
            "read_online_store_navigation",
            "{ menus(first: 1) { nodes { id } } }",
        ),
        (
            "read_metaobject_definitions",
            "{ metaobjectDefinitions(first: 1) { nodes { id } } }",
        ),
        (
            "read_metaobjects",
            "{ metaobjects(type: \"faq\", first: 1) { nodes { id } } }",
        ),
    ];
    for (scope, q) in cases {
        assert!(gql(&shop, q, Value::Null).get("errors").is_none(), "{q}");
        shop.deny_scope(scope);
        assert_denied(&gql(&shop, q, Value::Null), scope);
        shop.allow_scope(scope);
    }
    shop.deny_scope("read_content");
    assert_denied(&bulk_start(&shop, &blogs_bulk()), "read_content");
}

#[test]
fn blogs_bulk_counts_its_connections() {
    let shop = start(StoreParams {
        products: 1,
        ..StoreParams::default()
    });
    // Five connections pass; six do not.
    let five = "{ blogs { edges { node { id metafields { edges { node { id } } } articles { edges { node { id metafields { edges { node { id } } } } } } x: metafields { edges { node { id } } } } } } }";
    assert!(!bulk(&shop, five).is_empty());
    let six = "{ blogs { edges { node { id metafields { edges { node { id } } } articles { edges { node { id metafields { edges { node { id } } } } } } x: metafields { edges { node { id } } } y: metafields { edges { node { id } } } } } } }";
    let r = bulk_start(&shop, six);
    assert!(
        r["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more than 5")
    );
}
