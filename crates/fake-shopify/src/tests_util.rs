//! Helpers shared by the tests of blogs, menus, metaobjects, inventory, files and the restore
//! mutations (their own copies of the bulk documents, so that the connector's `queries.rs` may
//! change meanwhile).

use crate::tests_http::{get_url, gql};
use crate::FakeShop;
use serde_json::{json, Value};

const RUN_BULK: &str = "mutation run($query: String!) { \
     bulkOperationRunQuery(query: $query, groupObjects: true) { \
     bulkOperation { id status } userErrors { field message code } } }";

const POLL_BULK: &str = "query poll($id: ID!) { node(id: $id) { ... on BulkOperation { \
     id status errorCode objectCount fileSize url partialDataUrl } } }";

/// Starts a bulk query; returns the whole answer.
pub(crate) fn bulk_start(shop: &FakeShop, query: &str) -> Value {
    gql(shop, RUN_BULK, json!({ "query": query }))
}

/// Runs a bulk query to completion and returns its JSONL lines.
pub(crate) fn bulk(shop: &FakeShop, query: &str) -> Vec<Value> {
    let r = bulk_start(shop, query);
    let payload = &r["data"]["bulkOperationRunQuery"];
    assert_eq!(payload["userErrors"], json!([]), "{r}");
    let id = payload["bulkOperation"]["id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let node = gql(shop, POLL_BULK, json!({ "id": id }))["data"]["node"].clone();
        match node["status"].as_str() {
            Some("COMPLETED") => {
                let Some(url) = node["url"].as_str() else {
                    return Vec::new();
                };
                let r = get_url(url);
                assert_eq!(r.status, 200);
                return std::str::from_utf8(&r.body)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect();
            }
            Some("RUNNING" | "CREATED") => {}
            other => panic!("bulk operation ended {other:?}"),
        }
    }
    panic!("bulk operation never finished");
}

/// The numeric part of a GID (before any `?`).
pub(crate) fn numeric(gid: &Value) -> u64 {
    let s = gid.as_str().unwrap_or_else(|| panic!("not a GID: {gid}"));
    let s = s.split('?').next().unwrap();
    s.rsplit('/').next().unwrap().parse().unwrap()
}

/// `gid://shopify/Type/N`.
pub(crate) fn g(ty: &str, id: u64) -> String {
    format!("gid://shopify/{ty}/{id}")
}

/// Lines whose `__parentId` is `parent`.
pub(crate) fn children<'a>(lines: &'a [Value], parent: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["__parentId"] == parent).collect()
}

/// Asserts an answer is ACCESS_DENIED naming `scope`.
pub(crate) fn assert_denied(r: &Value, scope: &str) {
    let e = &r["errors"][0];
    assert_eq!(e["extensions"]["code"], "ACCESS_DENIED", "{r}");
    assert!(
        e["message"].as_str().unwrap().contains(scope),
        "{scope}: {r}"
    );
}
