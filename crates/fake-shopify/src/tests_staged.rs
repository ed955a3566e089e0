//! Tests of `stagedUploadsCreate`, the upload endpoint, `productByIdentifier` and their scopes.

use crate::tests_http::{gql, request, start, Resp};
use crate::{FakeShop, StoreParams};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

pub(crate) const STAGE: &str = "mutation stage($input: [StagedUploadInput!]!) { \
    stagedUploadsCreate(input: $input) { stagedTargets { url resourceUrl parameters { name value } } \
    userErrors { field message } } }";

/// A PNG header (800 × 600) followed by `len` bytes of pattern.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&[0, 0, 3, 32, 0, 0, 2, 88, 8, 6, 0, 0, 0]);
    b.extend((0..len).map(|i| (i * 31 % 251) as u8));
    b
}

/// Creates one staged target; returns the whole `stagedUploadsCreate` payload.
pub(crate) fn stage(shop: &FakeShop, input: Value) -> Value {
    let r = gql(shop, STAGE, json!({ "input": input }));
    assert_eq!(r["extensions"]["cost"]["requestedQueryCost"], 10, "{r}");
    r["data"]["stagedUploadsCreate"].clone()
}

/// The path of an absolute URL of the fake.
pub(crate) fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

/// Stages `bytes` as an IMAGE with PUT and uploads them; returns the resourceUrl.
pub(crate) fn upload(shop: &FakeShop, filename: &str, bytes: &[u8]) -> String {
    let payload = stage(
        shop,
        json!([{ "filename": filename, "mimeType": "image/png", "resource": "IMAGE",
                 "httpMethod": "PUT", "fileSize": bytes.len().to_string() }]),
    );
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let target = &payload["stagedTargets"][0];
    let r = request(
        shop.port(),
        "PUT",
        &path_of(target["url"].as_str().unwrap()),
        None,
        bytes,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    target["resourceUrl"].as_str().unwrap().to_string()
}

fn raw(port: u16, head: &str, body: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    Resp {
        status: head.split(' ').nth(1).unwrap().parse().unwrap(),
        headers: Vec::new(),
        body: out[split + 4..].to_vec(),
    }
}

#[test]
fn staged_put_targets_take_the_bytes_and_count_them() {
    let shop = start(StoreParams::default());
    let payload = stage(
        &shop,
        json!([{ "filename": "mug.png", "mimeType": "image/png", "resource": "IMAGE", "fileSize": "100" },
               { "filename": "b.jpg", "mimeType": "image/jpeg", "resource": "FILE" }]),
    );
    assert_eq!(payload["userErrors"], json!([]));
    let targets = payload["stagedTargets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    let url = targets[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/_staged/", shop.url())),
        "{url}"
    );
    assert_eq!(targets[0]["resourceUrl"], url);
    assert_ne!(targets[1]["url"], url);
    assert_eq!(
        targets[0]["parameters"],
        json!([{ "name": "content_type", "value": "image/png" }, { "name": "acl", "value": "private" }])
    );
    let p = path_of(url);
    let too_big = png(200);
    assert_eq!(request(shop.port(), "PUT", &p, None, &too_big).status, 400);
    assert_eq!(shop.counters().staged_uploads, 0);
    let bytes = png(40);
    let r = request(shop.port(), "PUT", &p, None, &bytes);
    assert!(r.status == 200 || r.status == 201, "{}", r.status);
    assert_eq!(
        request(shop.port(), "PUT", "/_staged/nope", None, b"x").status,
        404
    );
    let c = shop.counters();
    assert_eq!((c.staged_uploads, c.staged_bytes), (1, bytes.len() as u64));
    assert_eq!(c.graphql_requests, 1);
    // Without fileSize there is no announced limit.
    let r = request(
        shop.port(),
        "PUT",
        &path_of(targets[1]["url"].as_str().unwrap()),
        None,
        &png(5000),
    );
    assert_eq!(r.status, 200);
    assert_eq!(shop.counters().staged_uploads, 2);
    shop.reset_counters();
    let c = request(shop.port(), "GET", "/_fake/counters", None, b"").json();
    assert_eq!(
        (c["staged_uploads"].clone(), c["staged_bytes"].clone()),
        (json!(0), json!(0))
    );
}

#[test]
fn staged_post_targets_take_a_multipart_form() {
    let shop = start(StoreParams::default());
    let payload = stage(
        &shop,
        json!([{ "filename": "a.jpg", "mimeType": "image/jpeg", "resource": "PRODUCT_IMAGE", "httpMethod": "POST" }]),
    );
    let target = &payload["stagedTargets"][0];
    let params = target["parameters"].as_array().unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Content-Type", "success_action_status", "acl", "key"]
    );
    let p = path_of(target["url"].as_str().unwrap());
    let mut body = Vec::new();
    for param in params {
        body.extend_from_slice(
            format!(
                "--B0und\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                param["name"].as_str().unwrap(),
                param["value"].as_str().unwrap()
            )
            .as_bytes(),
        );
    }
    let file = b"\xff\xd8\xff\xe0 jpeg \r\n--B0 not the boundary\xff\xd9";
    body.extend_from_slice(b"--B0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--B0und--\r\n");
    let head = |ct: &str| {
        format!("POST {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n", body.len())
    };
    let r = raw(
        shop.port(),
        &head("multipart/form-data; boundary=B0und"),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(shop.counters().staged_bytes, file.len() as u64);
    let r = raw(shop.port(), &head("application/octet-stream"), &body);
    assert_eq!(r.status, 400);
    // A POST target is not a PUT target.
    assert_eq!(request(shop.port(), "PUT", &p, None, file).status, 405);
    assert_eq!(shop.counters().staged_uploads, 1);
}

#[test]
fn staged_upload_user_errors() {
    let shop = start(StoreParams::default());
    let payload = stage(
        &shop,
        json!([{ "mimeType": "image/png", "resource": "IMAGE" },
               { "filename": "v.mp4", "mimeType": "video/mp4", "resource": "VIDEO" },
               { "filename": "x", "mimeType": "", "resource": "SPACESHIP", "httpMethod": "GET", "fileSize": "big" }]),
    );
    assert_eq!(payload["stagedTargets"], Value::Null);
    let fields: Vec<Value> = payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!(["input", "0", "filename"]),
            json!(["input", "1", "fileSize"]),
            json!(["input", "2", "mimeType"]),
            json!(["input", "2", "resource"]),
            json!(["input", "2", "httpMethod"]),
            json!(["input", "2", "fileSize"]),
        ]
    );
    // UserError has no `code`, as in Shopify's schema.
    let r = gql(
        &shop,
        &STAGE.replace("userErrors { field message }", "userErrors { field code }"),
        json!({ "input": [] }),
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "undefinedField");
    let r = gql(&shop, STAGE, json!({}));
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
}

#[test]
fn staged_uploads_need_their_write_scope() {
    let shop = start(StoreParams::default());
    shop.deny_scope("write_products");
    let image = json!([{ "filename": "a.png", "mimeType": "image/png", "resource": "IMAGE" }]);
    let r = gql(&shop, STAGE, json!({ "input": image }));
    assert_eq!(r["errors"][0]["extensions"]["code"], "ACCESS_DENIED", "{r}");
    assert_eq!(
        r["errors"][0]["extensions"]["requiredAccess"],
        "`write_products` access scope."
    );
    assert_eq!(r["data"], Value::Null);
    let file = json!([{ "filename": "a.pdf", "mimeType": "application/pdf", "resource": "FILE" }]);
    let r = gql(&shop, STAGE, json!({ "input": file }));
    assert_eq!(r["data"]["stagedUploadsCreate"]["userErrors"], json!([]));
    shop.deny_scope("write_files");
    let r = gql(&shop, STAGE, json!({ "input": file }));
    assert_eq!(
        r["errors"][0]["extensions"]["requiredAccess"],
        "`write_files` access scope."
    );
    shop.allow_scope("write_products");
    let r = gql(&shop, STAGE, json!({ "input": image }));
    assert_eq!(r["data"]["stagedUploadsCreate"]["userErrors"], json!([]));
    shop.deny_scope("read_products");
    let r = gql(
        &shop,
        "{ productByIdentifier(identifier: { handle: \"x\" }) { id } }",
        Value::Null,
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "ACCESS_DENIED");
}

const BY_IDENTIFIER: &str = "query($identifier: ProductIdentifierInput!) { \
    productByIdentifier(identifier: $identifier) { id handle title \
    media(first: 10) { nodes { id ... on MediaImage { alt image { url width height } } } \
      edges { cursor node { id mediaContentType } } } \
    variants(first: 10) { nodes { id sku price } } \
    collections(first: 10) { nodes { id handle } } \
    metafields(first: 10) { nodes { namespace key value } } } }";

#[test]
fn product_by_identifier_and_product_by_id() {
    let shop = start(StoreParams::default());
    let p = shop.model(|s| {
        s.products
            .values()
            .find(|p| p.media.len() >= 2 && !p.collections.is_empty() && !p.metafields.is_empty())
            .unwrap()
            .clone()
    });
    let gid = format!("gid://shopify/Product/{}", p.id);
    let r = gql(
        &shop,
        BY_IDENTIFIER,
        json!({ "identifier": { "handle": p.handle } }),
    );
    let got = &r["data"]["productByIdentifier"];
    assert_eq!(got["id"], gid.as_str(), "{r}");
    assert_eq!(got["title"], p.title.as_str());
    let media = got["media"]["nodes"].as_array().unwrap();
    assert_eq!(media.len(), p.media.len());
    assert_eq!(
        media[0]["id"],
        format!("gid://shopify/MediaImage/{}", p.media[0])
    );
    assert!(media[0]["image"]["url"]
        .as_str()
        .unwrap()
        .contains("/_cdn/files/"));
    assert_eq!(
        got["media"]["edges"][1]["node"]["mediaContentType"],
        "IMAGE"
    );
    assert_eq!(
        got["variants"]["nodes"].as_array().unwrap().len(),
        p.variants.len()
    );
    assert_eq!(
        got["collections"]["nodes"][0]["id"],
        format!("gid://shopify/Collection/{}", p.collections[0])
    );
    // Its cost is that of its connections, like any query.
    assert_eq!(r["extensions"]["cost"]["requestedQueryCost"], 41);

    let by_id = gql(&shop, BY_IDENTIFIER, json!({ "identifier": { "id": gid } }));
    assert_eq!(by_id["data"], r["data"]);
    let m = &p.metafields[0];
    let custom = json!({ "identifier": { "customId": { "namespace": m.namespace, "key": m.key, "value": m.value } } });
    let by_custom = gql(&shop, BY_IDENTIFIER, custom);
    assert!(by_custom["data"]["productByIdentifier"]["id"].is_string());
    let product = gql(
        &shop,
        &BY_IDENTIFIER
            .replace("$identifier: ProductIdentifierInput!", "$id: ID!")
            .replace(
                "productByIdentifier(identifier: $identifier)",
                "product(id: $id)",
            ),
        json!({ "id": gid }),
    );
    assert_eq!(product["data"]["product"], r["data"]["productByIdentifier"]);

    for missing in [
        json!({ "handle": "no-such-handle" }),
        json!({ "id": "gid://shopify/Product/1" }),
    ] {
        let r = gql(&shop, BY_IDENTIFIER, json!({ "identifier": missing }));
        assert_eq!(r["data"]["productByIdentifier"], Value::Null, "{r}");
        assert!(r.get("errors").is_none());
    }
    for bad in [json!({}), json!({ "handle": "a", "id": gid })] {
        let r = gql(&shop, BY_IDENTIFIER, json!({ "identifier": bad }));
        assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    }
}
