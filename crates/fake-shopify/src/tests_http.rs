//! Tests of the HTTP surface, over plain `std::net::TcpStream`, with the documents the connector
//! sends (its `queries.rs`, included as a module so the two cannot drift apart).

use crate::{FakeShop, ServerOptions, StoreParams};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;

#[path = "../../../src/shopify/queries.rs"]
#[allow(dead_code)]
pub(crate) mod queries;

/// An HTTP answer.
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on its own connection (`Connection: close`).
pub(crate) fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        head.push_str(&format!("X-Shopify-Access-Token: {t}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = raw[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
    {
        assert_eq!(len.1.parse::<usize>().unwrap(), body.len());
    }
    Resp {
        status,
        headers,
        body,
    }
}

/// GET of an absolute `http://127.0.0.1:PORT/...` URL.
pub(crate) fn get_url(url: &str) -> Resp {
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    let (port, path) = rest.split_at(rest.find('/').unwrap());
    request(port.parse().unwrap(), "GET", path, None, b"")
}

/// A GraphQL POST with a good token.
pub(crate) fn gql(shop: &FakeShop, query: &str, variables: Value) -> Value {
    let r = gql_raw(shop, query, variables);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

pub(crate) fn gql_raw(shop: &FakeShop, query: &str, variables: Value) -> Resp {
    let body = json!({ "query": query, "variables": variables });
    request(
        shop.port(),
        "POST",
        "/admin/api/2026-01/graphql.json",
        Some("shpat_test"),
        body.to_string().as_bytes(),
    )
}

pub(crate) fn start(params: StoreParams) -> FakeShop {
    FakeShop::start(params, ServerOptions::default()).unwrap()
}

#[test]
fn authentication_paths_and_bad_requests() {
    let shop = start(StoreParams {
        products: 2,
        ..StoreParams::default()
    });
    let path = "/admin/api/2026-01/graphql.json";
    let body = br#"{"query":"{ shop { name } }"}"#;
    for token in [None, Some("bad")] {
        let r = request(shop.port(), "POST", path, token, body);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json(),
            json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
        );
    }
    assert_eq!(
        request(
            shop.port(),
            "POST",
            "/admin/api/graphql.json",
            Some("t"),
            body
        )
        .status,
        404
    );
    assert_eq!(
        request(shop.port(), "GET", "/nothing", None, b"").status,
        404
    );
    assert_eq!(
        request(
            shop.port(),
            "POST",
            "/admin/api/unstable/graphql.json",
            Some("t"),
            body
        )
        .status,
        200
    );
    let r = request(shop.port(), "POST", path, Some("t"), b"{not json");
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"].is_string());
    assert_eq!(
        request(shop.port(), "POST", path, Some("t"), b"{}").status,
        400
    );
    let syntax = gql(&shop, "{ shop { name ", Value::Null);
    assert!(syntax["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("syntax error"));
    let unknown = gql(&shop, "{ shop { nope } }", Value::Null);
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "undefinedField");
    assert_eq!(shop.counters().graphql_requests, 7);
}

#[test]
fn shop_query_and_cost_extension() {
    let shop = start(StoreParams::default());
    let r = gql(&shop, queries::SHOP, Value::Null);
    assert_eq!(r["data"]["shop"]["myshopifyDomain"], "fake.myshopify.com");
    assert_eq!(
        r["data"]["shop"]["primaryDomain"]["host"],
        "fake.myshopify.com"
    );
    let cost = &r["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 1);
    assert_eq!(cost["actualQueryCost"], 1);
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 2000.0);
    assert_eq!(cost["throttleStatus"]["restoreRate"], 100.0);
    assert!(
        cost["throttleStatus"]["currentlyAvailable"]
            .as_u64()
            .unwrap()
            >= 1998
    );
}

#[test]
fn themes_files_and_bodies() {
    let shop = start(StoreParams::default());
    let themes = gql(&shop, queries::THEMES, json!({ "after": null }));
    let nodes = themes["data"]["themes"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 2);
    assert_eq!(themes["data"]["themes"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(themes["extensions"]["cost"]["requestedQueryCost"], 51);
    assert_eq!(themes["extensions"]["cost"]["actualQueryCost"], 3);
    let main = nodes.iter().find(|t| t["role"] == "MAIN").unwrap();
    let main_id = main["id"].as_str().unwrap().to_string();
    let numeric: u64 = main_id.rsplit('/').next().unwrap().parse().unwrap();
    let model_files = shop.model(|s| s.themes[&numeric].files.clone());

    // All at once, then in pages of 5 following endCursor.
    let all = gql(
        &shop,
        queries::THEME_FILES,
        json!({ "id": main_id, "after": null }),
    );
    let listed = all["data"]["theme"]["files"]["nodes"].as_array().unwrap();
    assert_eq!(listed.len(), model_files.len());
    for node in listed {
        let name = node["filename"].as_str().unwrap();
        assert_eq!(node["checksumMd5"], crate::checksum_md5(&model_files[name]));
        assert_eq!(node["size"], model_files[name].len());
        assert_eq!(node["contentType"], crate::content_type(name));
    }
    let paged = queries::THEME_FILES.replace("first: 250", "first: 5");
    let (mut after, mut names) = (Value::Null, Vec::new());
    loop {
        let page = gql(&shop, &paged, json!({ "id": main_id, "after": after }));
        let files = &page["data"]["theme"]["files"];
        names.extend(
            files["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["filename"].as_str().unwrap().to_string()),
        );
        if files["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = files["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, model_files.keys().cloned().collect::<Vec<_>>());

    shop.reset_counters();
    let wanted = json!(["layout/theme.liquid", "assets/logo.png", "no/such.file"]);
    let bodies = gql(
        &shop,
        queries::THEME_BODIES,
        json!({ "id": main_id, "names": wanted }),
    );
    let nodes = bodies["data"]["theme"]["files"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 2);
    for node in nodes {
        let name = node["filename"].as_str().unwrap();
        let body = &node["body"];
        let bytes = match body["__typename"].as_str().unwrap() {
            "OnlineStoreThemeFileBodyText" => body["content"].as_str().unwrap().as_bytes().to_vec(),
            "OnlineStoreThemeFileBodyBase64" => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(body["contentBase64"].as_str().unwrap())
                    .unwrap()
            }
            other => panic!("{other}"),
        };
        assert_eq!(bytes, model_files[name], "{name}");
    }
    assert_eq!(
        nodes
            .iter()
            .filter(|n| n["body"]["__typename"] == "OnlineStoreThemeFileBodyBase64")
            .count(),
        1
    );
    assert_eq!(shop.counters().theme_bodies, 2);
    let too_many: Vec<String> = (0..51).map(|i| format!("f{i}")).collect();
    let refused = gql(
        &shop,
        queries::THEME_BODIES,
        json!({ "id": main_id, "names": too_many }),
    );
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("50"));
    let missing = gql(
        &shop,
        queries::THEME_FILES,
        json!({ "id": "gid://shopify/OnlineStoreTheme/1", "after": null }),
    );
    assert_eq!(missing["data"]["theme"], Value::Null);
}

#[test]
fn throttling_injected_and_from_the_bucket() {
    let shop = FakeShop::start(
        StoreParams::default(),
        ServerOptions {
            bucket_size: 60.0,
            restore_rate: 1.0,
            ..ServerOptions::default()
        },
    )
    .unwrap();
    shop.throttle_next(2);
    for _ in 0..2 {
        let r = gql(&shop, queries::SHOP, Value::Null);
        assert_eq!(r["errors"][0]["extensions"]["code"], "THROTTLED");
        assert_eq!(r["errors"][0]["message"], "Throttled");
        assert!(r.get("data").is_none_or(Value::is_null));
        assert_eq!(r["extensions"]["cost"]["actualQueryCost"], Value::Null);
    }
    assert_eq!(
        gql(&shop, queries::SHOP, Value::Null)["data"]["shop"]["name"],
        "Fake Goods"
    );
    let main = shop.model(|s| s.main_theme().unwrap().id);
    let q = queries::THEME_FILES.replace("first: 250", "first: 50");
    let vars = json!({ "id": format!("gid://shopify/OnlineStoreTheme/{main}"), "after": null });
    let first = gql(&shop, &q, vars.clone());
    assert_eq!(first["extensions"]["cost"]["requestedQueryCost"], 51);
    let second = gql(&shop, &q, vars);
    assert_eq!(second["errors"][0]["extensions"]["code"], "THROTTLED");
    assert!(
        second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
            .as_u64()
            .unwrap()
            < 51
    );
    assert_eq!(shop.counters().throttled, 3);
    let too_big = gql(
        &shop,
        &queries::THEME_FILES.replace("first: 250", "first: 100"),
        json!({ "id": "x" }),
    );
    assert_eq!(
        too_big["errors"][0]["extensions"]["code"],
        "MAX_COST_EXCEEDED"
    );

    shop.too_many_next(1);
    let r = gql_raw(&shop, queries::SHOP, Value::Null);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("Retry-After"), Some("2.0"));
    assert_eq!(
        r.json(),
        json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
    );
    assert_eq!(shop.counters().too_many, 1);
}

#[test]
fn access_denied_by_scope() {
    let shop = start(StoreParams::default());
    shop.deny_scope("read_customers");
    let r = gql(
        &shop,
        "{ customers(first: 5) { nodes { id } } }",
        Value::Null,
    );
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["errors"][0]["extensions"]["code"], "ACCESS_DENIED");
    assert_eq!(
        r["errors"][0]["message"],
        "Access denied for customers field. Required access: `read_customers` access scope."
    );
    assert_eq!(
        r["errors"][0]["extensions"]["requiredAccess"],
        "`read_customers` access scope."
    );
    let bulk = gql(
        &shop,
        queries::RUN_BULK,
        json!({ "query": queries::CUSTOMERS }),
    );
    assert_eq!(bulk["errors"][0]["extensions"]["code"], "ACCESS_DENIED");
    assert!(bulk["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("customers field"));
    assert_eq!(shop.counters().bulk_operations, 0);
    assert!(gql(&shop, queries::SHOP, Value::Null)["data"]["shop"].is_object());
    shop.deny_scope("read_online_store_navigation");
    let r = gql(
        &shop,
        queries::RUN_BULK,
        json!({ "query": queries::REDIRECTS }),
    );
    assert_eq!(
        r["errors"][0]["extensions"]["requiredAccess"],
        "`read_online_store_navigation` access scope."
    );
}

#[test]
fn media_downloads_and_control_surface() {
    let shop = start(StoreParams::default());
    let (id, filename, bytes) = shop.model(|s| {
        let m = s.media.values().next().unwrap();
        (m.id, m.filename.clone(), m.bytes.clone())
    });
    let r = get_url(&format!("{}/_cdn/files/{id}/{filename}?v=123", shop.url()));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("image/jpeg"));
    assert_eq!(r.body, bytes);
    assert_eq!(
        get_url(&format!("{}/_cdn/files/{id}/other.jpg", shop.url())).status,
        404
    );
    assert_eq!(
        get_url(&format!("{}/_cdn/files/1/{filename}", shop.url())).status,
        404
    );
    let c = shop.counters();
    assert_eq!((c.media_downloads, c.media_bytes), (1, bytes.len() as u64));

    let counters = request(shop.port(), "GET", "/_fake/counters", None, b"").json();
    assert_eq!(counters["media_downloads"], 1);
    let changes = request(shop.port(), "POST", "/_fake/advance", None, b"").json();
    assert_eq!(changes["orders_added"].as_array().unwrap().len(), 5);
    assert_eq!(shop.model(|s| s.day), 1);
    let (pid, handle) = shop.model(|s| {
        s.products
            .values()
            .map(|p| (p.id, p.handle.clone()))
            .next()
            .unwrap()
    });
    let p = request(
        shop.port(),
        "GET",
        &format!("/_fake/product-by-handle/{handle}"),
        None,
        b"",
    )
    .json();
    assert_eq!(p["id"], pid);
    assert_eq!(p["handle"], handle.as_str());
    assert_eq!(
        request(
            shop.port(),
            "POST",
            &format!("/_fake/delete-product/{pid}"),
            None,
            b""
        )
        .status,
        200
    );
    assert_eq!(
        request(
            shop.port(),
            "POST",
            &format!("/_fake/delete-product/{pid}"),
            None,
            b""
        )
        .status,
        404
    );
    assert_eq!(
        request(
            shop.port(),
            "GET",
            &format!("/_fake/product-by-handle/{handle}"),
            None,
            b""
        )
        .status,
        404
    );
    assert!(!shop.delete_product(pid));
}

#[test]
fn drop_stops_the_server_and_threads_serve_concurrently() {
    let shop = start(StoreParams::default());
    let port = shop.port();
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..5 {
                    assert_eq!(
                        gql(&shop, queries::SHOP, Value::Null)["data"]["shop"]["name"],
                        "Fake Goods"
                    );
                }
            });
        }
    });
    assert_eq!(shop.counters().graphql_requests, 30);
    drop(shop);
    // The listener is gone: connecting fails (or the connection is closed at once).
    if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let _ = stream.write_all(b"GET /_fake/counters HTTP/1.1\r\nConnection: close\r\n\r\n");
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf);
        assert!(buf.is_empty());
    }
}

#[test]
fn hostile_documents_are_errors_not_crashes() {
    let shop = start(StoreParams {
        products: 2,
        ..StoreParams::default()
    });
    let deep = format!("{}{}", "{ shop ".repeat(3000), "}".repeat(3000));
    assert!(gql(&shop, &deep, Value::Null)["errors"].is_array());
    let cycle = "query { shop { ...A } } fragment A on Shop { name ...A }";
    assert_eq!(
        gql(&shop, cycle, Value::Null)["data"]["shop"]["name"],
        "Fake Goods"
    );
    let bulk_cycle =
        "query { products { edges { node { ...P } } } } fragment P on Product { id ...P }";
    let r = gql(&shop, queries::RUN_BULK, json!({ "query": bulk_cycle }));
    assert!(r["data"]["bulkOperationRunQuery"].is_object());
    for body in [
        "",
        "null",
        "[]",
        "{\"query\": 5}",
        "{\"query\": \"{}\", \"variables\": 3}",
    ] {
        let r = request(
            shop.port(),
            "POST",
            "/admin/api/2026-01/graphql.json",
            Some("t"),
            body.as_bytes(),
        );
        assert!(r.status == 400 || r.status == 200, "{body}: {}", r.status);
    }
    assert_eq!(
        gql(&shop, queries::SHOP, Value::Null)["data"]["shop"]["name"],
        "Fake Goods"
    );
}
