//! Tests of `productSet`'s `files`: staged uploads become media, `{id}` keeps one, media left out
//! are deleted, and a bad entry changes nothing.

use crate::tests_http::{get_url, gql, start};
use crate::tests_staged::{png, stage, upload};
use crate::{FakeShop, Product, StoreParams};
use serde_json::{json, Value};

const SET: &str = "mutation set($input: ProductSetInput!, $identifier: ProductSetIdentifiers) { \
    productSet(input: $input, synchronous: true, identifier: $identifier) { \
    product { id handle updatedAt media(first: 20) { nodes { id alt mediaContentType \
      ... on MediaImage { mimeType image { url width height } originalSource { url fileSize } } } } } \
    userErrors { field message code } } }";

fn media_gid(id: u64) -> String {
    format!("gid://shopify/MediaImage/{id}")
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

/// A product with at least `n` media.
fn with_media(shop: &FakeShop, n: usize) -> Product {
    shop.model(|s| {
        s.products
            .values()
            .find(|p| p.media.len() >= n)
            .unwrap()
            .clone()
    })
}

fn set(shop: &FakeShop, handle: &str, input: Value) -> Value {
    let r = gql(
        shop,
        SET,
        json!({ "input": input, "identifier": { "handle": handle } }),
    );
    assert!(r.get("errors").is_none(), "{r}");
    r["data"]["productSet"].clone()
}

#[test]
fn staged_files_become_media_and_left_out_media_go() {
    let shop = start(StoreParams::default());
    shop.advance();
    let p = with_media(&shop, 3);
    let bytes = png(3000);
    let url = upload(&shop, "new-shot.png", &bytes);
    let files = json!([
        { "originalSource": url, "alt": "New shot", "contentType": "IMAGE" },
        { "id": media_gid(p.media[1]), "alt": "Second, renamed alt" },
    ]);
    let payload = set(
        &shop,
        &p.handle,
        json!({ "title": p.title, "files": files }),
    );
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let nodes = payload["product"]["media"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    let new_id = numeric(&nodes[0]["id"]);
    assert!(!p.media.contains(&new_id));
    assert_eq!(nodes[0]["alt"], "New shot");
    assert_eq!(nodes[0]["mimeType"], "image/png");
    assert_eq!(nodes[0]["image"]["width"], 800);
    assert_eq!(nodes[0]["image"]["height"], 600);
    assert_eq!(nodes[0]["originalSource"]["fileSize"], bytes.len());
    assert_eq!(nodes[1]["id"], media_gid(p.media[1]).as_str());
    assert_eq!(nodes[1]["alt"], "Second, renamed alt");
    let original = nodes[0]["originalSource"]["url"].as_str().unwrap();
    assert!(
        original.starts_with(&format!(
            "{}/_cdn/files/{new_id}/new-shot.png?v=",
            shop.url()
        )),
        "{original}"
    );
    shop.model(|s| {
        let q = &s.products[&p.id];
        assert_eq!(q.media, vec![new_id, p.media[1]]);
        assert_eq!(q.updated_at, s.now());
        let m = &s.media[&new_id];
        assert_eq!((m.product_id, m.filename.as_str()), (p.id, "new-shot.png"));
        assert_eq!(m.bytes, bytes);
        assert_eq!(m.created_at, s.now_ts());
        for gone in p.media.iter().filter(|m| **m != p.media[1]) {
            assert!(!s.media.contains_key(gone));
        }
        assert_eq!(s.media[&p.media[1]].alt, "Second, renamed alt");
    });
    shop.reset_counters();
    let r = get_url(original);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("image/png"));
    assert_eq!(r.body, bytes);
    assert_eq!(shop.counters().media_bytes, bytes.len() as u64);
    assert_eq!(
        get_url(nodes[0]["image"]["url"].as_str().unwrap()).status,
        200
    );
    // A detached medium is gone from the CDN too.
    let gone = p.media[0];
    let name = format!("{}-1.jpg", p.handle);
    assert_eq!(
        get_url(&format!("{}/_cdn/files/{gone}/{name}", shop.url())).status,
        404
    );
    // `node` finds the new medium.
    let r = gql(
        &shop,
        "query($id: ID!) { node(id: $id) { ... on MediaImage { id alt } } }",
        json!({ "id": media_gid(new_id) }),
    );
    assert_eq!(r["data"]["node"]["alt"], "New shot");
}

#[test]
fn without_files_media_stay_and_an_empty_list_removes_them() {
    let shop = start(StoreParams::default());
    let p = with_media(&shop, 2);
    let payload = set(&shop, &p.handle, json!({ "title": "Retitled" }));
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(shop.model(|s| s.products[&p.id].media.clone()), p.media);
    let payload = set(&shop, &p.handle, json!({ "files": [] }));
    assert_eq!(payload["product"]["media"]["nodes"], json!([]));
    shop.model(|s| {
        assert!(s.products[&p.id].media.is_empty());
        assert!(p.media.iter().all(|m| !s.media.contains_key(m)));
        assert_eq!(s.products[&p.id].title, "Retitled");
    });
}

#[test]
fn a_bad_file_entry_changes_nothing() {
    let shop = start(StoreParams::default());
    let p = with_media(&shop, 2);
    let other = shop.model(|s| {
        s.products
            .values()
            .find(|o| o.id != p.id && !o.media.is_empty())
            .unwrap()
            .media[0]
    });
    let before = shop.model(|s| (s.products.clone(), s.media.len()));
    let not_uploaded = stage(
        &shop,
        json!([{ "filename": "late.png", "mimeType": "image/png", "resource": "IMAGE" }]),
    )["stagedTargets"][0]["resourceUrl"]
        .clone();
    let cases = [
        (
            json!({ "id": media_gid(other) }),
            json!(["input", "files", "1", "id"]),
        ),
        (
            json!({ "id": "gid://shopify/MediaImage/1" }),
            json!(["input", "files", "1", "id"]),
        ),
        (
            json!({ "id": media_gid(p.media[0]) }),
            json!(["input", "files", "1", "id"]),
        ),
        (
            json!({ "originalSource": "https://example.com/a.jpg" }),
            json!(["input", "files", "1", "originalSource"]),
        ),
        (
            json!({ "originalSource": not_uploaded }),
            json!(["input", "files", "1", "originalSource"]),
        ),
        (
            json!({ "originalSource": not_uploaded, "contentType": "VIDEO" }),
            json!(["input", "files", "1", "contentType"]),
        ),
        (json!({ "alt": "neither" }), json!(["input", "files", "1"])),
    ];
    for (entry, field) in cases {
        let files = json!([{ "id": media_gid(p.media[0]) }, entry]);
        let payload = set(
            &shop,
            &p.handle,
            json!({ "title": "Changed", "files": files }),
        );
        assert_eq!(payload["product"], Value::Null, "{payload}");
        let e = &payload["userErrors"][0];
        assert_eq!(e["field"], field, "{payload}");
        assert_eq!(e["code"], "INVALID_INPUT");
    }
    let fetch = set(
        &shop,
        &p.handle,
        json!({ "files": [{ "originalSource": "https://example.com/a.jpg" }] }),
    );
    assert!(fetch["userErrors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("could not be fetched"));
    assert_eq!(shop.model(|s| (s.products.clone(), s.media.len())), before);
    // A new product with a bad entry is not created either.
    let payload = set(
        &shop,
        "brand-new",
        json!({ "title": "New", "files": [{ "id": media_gid(p.media[0]) }] }),
    );
    assert_eq!(
        payload["userErrors"][0]["field"],
        json!(["input", "files", "0", "id"])
    );
    assert!(shop.model(|s| s.product_by_handle("brand-new").is_none()));
}

#[test]
fn a_deleted_product_is_restored_with_its_images() {
    let shop = start(StoreParams::default());
    let p = with_media(&shop, 2);
    let originals: Vec<(String, Vec<u8>, String)> = shop.model(|s| {
        p.media
            .iter()
            .map(|m| {
                let m = &s.media[m];
                (m.filename.clone(), m.bytes.clone(), m.alt.clone())
            })
            .collect()
    });
    assert!(shop.delete_product(p.id));
    shop.reset_counters();
    let files: Vec<Value> = originals
        .iter()
        .map(|(name, bytes, alt)| json!({ "originalSource": upload(&shop, name, bytes), "alt": alt }))
        .collect();
    let c = shop.counters();
    assert_eq!(c.staged_uploads, originals.len() as u64);
    assert_eq!(
        c.staged_bytes,
        originals.iter().map(|o| o.1.len() as u64).sum::<u64>()
    );
    let payload = set(
        &shop,
        &p.handle,
        json!({ "title": p.title, "handle": p.handle, "files": files }),
    );
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let nodes = payload["product"]["media"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), originals.len());
    for (node, (name, bytes, alt)) in nodes.iter().zip(&originals) {
        assert_eq!(node["alt"], alt.as_str());
        // A generated image is a JPEG whatever the staged MIME type said.
        assert_eq!(node["mimeType"], "image/jpeg");
        let url = node["originalSource"]["url"].as_str().unwrap();
        assert!(url.contains(&format!("/{name}?v=")), "{url}");
        assert_eq!(&get_url(url).body, bytes);
    }
}

#[test]
fn taken_file_names_get_a_uuid_or_an_error() {
    let shop = start(StoreParams::default());
    let p = with_media(&shop, 1);
    let (other_name, other_url) = shop.model(|s| {
        let m = s.media.values().find(|m| m.product_id != p.id).unwrap();
        (
            m.filename.clone(),
            format!("{}/_cdn/files/{}/{}?v=1", shop.url(), m.id, m.filename),
        )
    });
    let url = upload(&shop, &other_name, &png(10));
    let files = json!([{ "originalSource": url, "duplicateResolutionMode": "RAISE_ERROR" }]);
    let payload = set(&shop, &p.handle, json!({ "files": files }));
    assert_eq!(
        payload["userErrors"][0]["field"],
        json!(["input", "files", "0", "filename"])
    );
    // The default appends a UUID; a `filename` overrides the staged one; this fake's own CDN URLs
    // can be fetched.
    let files = json!([
        { "originalSource": url },
        { "originalSource": url, "filename": "dir/chosen.png" },
        { "originalSource": other_url, "alt": "copied" },
    ]);
    let payload = set(&shop, &p.handle, json!({ "files": files }));
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let ids: Vec<u64> = payload["product"]["media"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| numeric(&n["id"]))
        .collect();
    shop.model(|s| {
        let names: Vec<&str> = ids.iter().map(|i| s.media[i].filename.as_str()).collect();
        let (stem, ext) = other_name.rsplit_once('.').unwrap();
        assert!(names[0].starts_with(&format!("{stem}_")), "{names:?}");
        assert!(names[0].ends_with(&format!(".{ext}")));
        assert_eq!(names[0].len(), other_name.len() + 37);
        assert_eq!(names[1], "chosen.png");
        assert!(names[2].starts_with(&format!("{stem}_")) && names[2] != names[0]);
        assert_eq!(s.media[&ids[2]].alt, "copied");
    });
}
