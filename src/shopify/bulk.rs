//! Bulk operations: start a bulk query, poll it to the end, and stream its JSONL result, handing
//! over each top-level object with its children (regrouped by `__parentId`) as soon as the next
//! one starts. A failed or expired operation is started again; a partial result is never used.

use super::client::{user_errors, AdminClient, GetError};
use super::error::{Error, Result};
use super::queries::{POLL_BULK, RUN_BULK};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// A bulk-exported entity: its query and the connections its lines nest.
pub struct Entity {
    /// The name used in messages and as the export folder (`products`, `orders`).
    pub name: &'static str,
    /// The bulk query.
    pub query: &'static str,
    /// The connections of a top-level object.
    pub children: &'static [Child],
}

/// A connection of an object: the field its nodes are gathered under and the GID types of its
/// nodes (a JSONL line names its parent, not its connection).
pub struct Child {
    /// The field of the parent object.
    pub field: &'static str,
    /// The GID types (`ProductVariant`, `MediaImage`, ...) of its nodes.
    pub types: &'static [&'static str],
    /// The connections of each node (two levels at most).
    pub children: &'static [Child],
}

/// Operations started per entity before the export gives up.
const BULK_TRIES: u32 = 3;

/// The longest pause between two polls.
const POLL_MAX: Duration = Duration::from_secs(10);

/// Exports `entity` with a bulk operation and hands each top-level object, children nested, to
/// `each`. Returns the number of top-level objects. A failed, expired or cut-short operation is started
/// again (at most three times), and `each` may then see objects a second time; the caller writes
/// into a staging area that the failure of the whole run throws away.
pub fn export(
    client: &AdminClient,
    entity: &Entity,
    each: &mut dyn FnMut(Value) -> Result<()>,
) -> Result<u64> {
    let mut last = String::new();
    for _ in 0..BULK_TRIES {
        let op = start(client, entity)?;
        let done = poll(client, entity, &op)?;
        let status = done.get("status").and_then(Value::as_str).unwrap_or("");
        if status != "COMPLETED" {
            let code = done
                .get("errorCode")
                .and_then(Value::as_str)
                .unwrap_or("no error code");
            if code == "ACCESS_DENIED" {
                return Err(Error::AccessDenied {
                    what: format!("exporting {}", entity.name),
                    message: "the bulk operation ended ACCESS_DENIED".to_string(),
                });
            }
            last = format!("{status} ({code})");
            continue;
        }
        let expected = count(&done, "objectCount");
        let Some(url) = done.get("url").and_then(Value::as_str) else {
            // Shopify gives no URL for an empty result.
            if expected.unwrap_or(0) == 0 {
                return Ok(0);
            }
            return Err(Error::protocol(
                format!("exporting {}", entity.name),
                "a completed bulk operation with objects and no URL",
            ));
        };
        match stream(client, entity, url, each) {
            Ok((lines, objects)) => {
                if let Some(n) = expected.filter(|&n| n != lines) {
                    last = format!("the result had {lines} lines, the operation counted {n}");
                    continue;
                }
                return Ok(objects);
            }
            // An expired or lost result: a new operation makes a new one.
            Err(Streamed::Again(why)) => last = why,
            Err(Streamed::Fatal(e)) => return Err(e),
        }
    }
    Err(Error::BulkFailed {
        entity: entity.name,
        tries: BULK_TRIES,
        last,
    })
}

/// Starts the bulk query; returns the operation's GID.
fn start(client: &AdminClient, entity: &Entity) -> Result<String> {
    let what = format!("starting the bulk export of {}", entity.name);
    let data = client.query(&what, RUN_BULK, json!({ "query": entity.query }), 10.0)?;
    let payload = data
        .get("bulkOperationRunQuery")
        .ok_or_else(|| Error::protocol(&what, "no bulkOperationRunQuery in the answer"))?;
    user_errors(&what, payload)?;
    payload
        .pointer("/bulkOperation/id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::protocol(&what, "no bulk operation ID in the answer"))
}

/// Polls the operation until it ends; returns its last state.
fn poll(client: &AdminClient, entity: &Entity, id: &str) -> Result<Value> {
    let what = format!("waiting for the bulk export of {}", entity.name);
    let mut pause = Duration::from_millis(50);
    loop {
        let data = client.query(&what, POLL_BULK, json!({ "id": id }), 1.0)?;
        let op = data
            .get("node")
            .filter(|n| !n.is_null())
            .ok_or_else(|| Error::protocol(&what, format!("operation {id} is unknown")))?;
        match op.get("status").and_then(Value::as_str) {
            Some("CREATED" | "RUNNING" | "CANCELING") => {}
            Some(_) => return Ok(op.clone()),
            None => return Err(Error::protocol(&what, "an operation without a status")),
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// `objectCount` and the like: Shopify sends 64-bit counts as strings.
fn count(op: &Value, field: &str) -> Option<u64> {
    match op.get(field)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// How reading a result failed.
enum Streamed {
    /// The result is gone or was cut: run the operation again.
    Again(String),
    /// The result is wrong in a way a new operation will not fix, or the caller failed.
    Fatal(Error),
}

/// Reads the JSONL result line by line; returns the number of lines and of top-level objects.
fn stream(
    client: &AdminClient,
    entity: &Entity,
    url: &str,
    each: &mut dyn FnMut(Value) -> Result<()>,
) -> Result<(u64, u64), Streamed> {
    let what = format!("reading the bulk export of {}", entity.name);
    let resp = match client.get(&what, url) {
        Ok(r) => r,
        // 403: the signed URL expired (after 7 days) or was refused.
        Err(GetError::Status(s, msg)) if s == 403 || s == 404 => {
            return Err(Streamed::Again(msg));
        }
        Err(e) => return Err(Streamed::Fatal(e.into())),
    };
    let mut group = Grouper::new(entity);
    let mut lines = 0u64;
    let mut objects = 0u64;
    for line in BufReader::with_capacity(1 << 16, resp).lines() {
        let line = line.map_err(|e| Streamed::Again(format!("{what}: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let v: Value = serde_json::from_str(&line).map_err(|e| {
            Streamed::Fatal(Error::protocol(
                &what,
                format!("line {lines} is not JSON: {e}"),
            ))
        })?;
        if let Some(done) = group
            .push(v)
            .map_err(|m| Streamed::Fatal(Error::protocol(&what, format!("line {lines}: {m}"))))?
        {
            objects += 1;
            each(done).map_err(Streamed::Fatal)?;
        }
    }
    if let Some(done) = group.finish() {
        objects += 1;
        each(done).map_err(Streamed::Fatal)?;
    }
    Ok((lines, objects))
}

/// Regroups JSONL lines into objects with nested children. Holds one top-level object at a time:
/// with `groupObjects` every child follows its parent before the next top-level object.
pub struct Grouper<'a> {
    entity: &'a Entity,
    current: Option<Map<String, Value>>,
    /// The child nodes of the current object by GID: the field they sit in and their index.
    nodes: HashMap<String, (&'static Child, usize)>,
}

impl<'a> Grouper<'a> {
    /// An empty grouper for `entity`.
    pub fn new(entity: &'a Entity) -> Self {
        Grouper {
            entity,
            current: None,
            nodes: HashMap::new(),
        }
    }

    /// Takes one line; returns the previous top-level object when this line starts the next.
    pub fn push(&mut self, line: Value) -> std::result::Result<Option<Value>, String> {
        let Value::Object(mut obj) = line else {
            return Err("not a JSON object".to_string());
        };
        let parent = match obj.remove("__parentId") {
            None => None,
            Some(Value::String(p)) => Some(p),
            Some(_) => return Err("__parentId is not a string".to_string()),
        };
        let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
        let Some(parent) = parent else {
            let done = self.finish();
            with_empty(&mut obj, self.entity.children);
            self.current = Some(obj);
            return Ok(done);
        };
        let ty = id.as_deref().and_then(gid_type).unwrap_or("");
        let top = self
            .current
            .as_mut()
            .ok_or("a child line before any top-level object")?;
        if top.get("id").and_then(Value::as_str) == Some(parent.as_str()) {
            let child = pick(self.entity.children, ty)?;
            with_empty(&mut obj, child.children);
            let list = list_of(top, child.field)?;
            list.push(Value::Object(obj));
            if let Some(id) = id {
                self.nodes.insert(id, (child, list.len() - 1));
            }
            return Ok(None);
        }
        let Some(&(node_kind, index)) = self.nodes.get(&parent) else {
            return Err(format!(
                "the parent {parent} is not the object being read (a bulk result not grouped by parent)"
            ));
        };
        let grandchild = pick(node_kind.children, ty)?;
        let node = list_of(top, node_kind.field)?
            .get_mut(index)
            .and_then(Value::as_object_mut)
            .ok_or("a lost child node")?;
        list_of(node, grandchild.field)?.push(Value::Object(obj));
        Ok(None)
    }

    /// The last object, once the input has ended.
    pub fn finish(&mut self) -> Option<Value> {
        self.nodes.clear();
        self.current.take().map(Value::Object)
    }
}

/// The connection of `children` whose nodes have GID type `ty`.
fn pick(children: &'static [Child], ty: &str) -> std::result::Result<&'static Child, String> {
    children
        .iter()
        .find(|c| c.types.contains(&ty))
        .ok_or_else(|| format!("a child of unexpected type {ty:?}"))
}

/// Every connection of a new object starts as an empty list, so that an item without variants
/// or media reads `[]` rather than lacking the field.
fn with_empty(obj: &mut Map<String, Value>, children: &[Child]) {
    for c in children {
        obj.entry(c.field)
            .or_insert_with(|| Value::Array(Vec::new()));
    }
}

fn list_of<'m>(
    obj: &'m mut Map<String, Value>,
    field: &str,
) -> std::result::Result<&'m mut Vec<Value>, String> {
    obj.get_mut(field)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("the field {field} is not a list"))
}

/// The type part of a GID: `ProductVariant` of `gid://shopify/ProductVariant/42`.
pub fn gid_type(gid: &str) -> Option<&str> {
    let rest = gid.strip_prefix("gid://shopify/")?;
    let (ty, _) = rest.split_once('/')?;
    Some(ty)
}

/// The numeric part of a GID, which names the item's file: `42` of
/// `gid://shopify/ProductVariant/42` (a query string such as `?v=1` is dropped).
pub fn gid_number(gid: &str) -> Option<u64> {
    let rest = gid.strip_prefix("gid://shopify/")?;
    let (_, n) = rest.split_once('/')?;
    let n = n.split('?').next()?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTS: Entity = Entity {
        name: "products",
        query: "",
        children: &[
            Child {
                field: "variants",
                types: &["ProductVariant"],
                children: &[Child {
                    field: "metafields",
                    types: &["Metafield"],
                    children: &[],
                }],
            },
            Child {
                field: "media",
                types: &["MediaImage", "Video"],
                children: &[],
            },
        ],
    };

    fn lines(text: &str) -> Vec<Value> {
        let mut g = Grouper::new(&PRODUCTS);
        let mut out = Vec::new();
        for l in text.lines() {
            out.extend(g.push(serde_json::from_str(l).unwrap()).unwrap());
        }
        out.extend(g.finish());
        out
    }

    #[test]
    fn children_nest_under_their_parents_two_levels_deep() {
        let got = lines(concat!(
            r#"{"id":"gid://shopify/Product/1","title":"Mug"}"#,
            "\n",
            r#"{"id":"gid://shopify/ProductVariant/11","__parentId":"gid://shopify/Product/1"}"#,
            "\n",
            r#"{"id":"gid://shopify/Metafield/111","value":"x","__parentId":"gid://shopify/ProductVariant/11"}"#,
            "\n",
            r#"{"id":"gid://shopify/MediaImage/12","__parentId":"gid://shopify/Product/1"}"#,
            "\n",
            r#"{"id":"gid://shopify/Product/2","title":"Hat"}"#,
            "\n",
        ));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["variants"][0]["metafields"][0]["value"], "x");
        assert_eq!(got[0]["media"][0]["id"], "gid://shopify/MediaImage/12");
        assert!(got[0]["variants"][0].get("__parentId").is_none());
        assert_eq!(got[1]["variants"], json!([]));
        assert_eq!(got[1]["media"], json!([]));
    }

    #[test]
    fn a_child_of_an_earlier_object_or_of_an_unknown_type_is_an_error() {
        let mut g = Grouper::new(&PRODUCTS);
        g.push(json!({"id": "gid://shopify/Product/1"})).unwrap();
        g.push(json!({"id": "gid://shopify/Product/2"})).unwrap();
        let late = json!({"id": "gid://shopify/ProductVariant/9", "__parentId": "gid://shopify/Product/1"});
        assert!(g.push(late).unwrap_err().contains("not grouped"));
        let odd = json!({"id": "gid://shopify/Order/9", "__parentId": "gid://shopify/Product/2"});
        assert!(g.push(odd).unwrap_err().contains("unexpected type"));
        let mut fresh = Grouper::new(&PRODUCTS);
        let orphan = json!({"id": "gid://shopify/ProductVariant/9", "__parentId": "gid://shopify/Product/1"});
        assert!(fresh.push(orphan).is_err());
        assert!(fresh.push(json!([1])).is_err());
    }

    proptest::proptest! {
        /// Hostile lines (any JSON, parents named at random) give an error or a grouping, never
        /// a panic.
        #[test]
        fn hostile_lines_never_panic(lines in proptest::collection::vec(
            (proptest::option::of(0u8..4), 0u8..6, 0u8..4, proptest::bool::ANY), 0..40)) {
            let types = ["Product", "ProductVariant", "Metafield", "MediaImage", "Order", "x"];
            let mut g = Grouper::new(&PRODUCTS);
            for (parent, ty, n, odd) in lines {
                let mut v = json!({"id": format!("gid://shopify/{}/{n}", types[ty as usize])});
                if let Some(p) = parent {
                    v["__parentId"] = if odd { json!(7) } else {
                        json!(format!("gid://shopify/{}/{p}", types[(p % 3) as usize]))
                    };
                }
                let _ = g.push(if odd && parent.is_none() { json!([v]) } else { v });
            }
            let _ = g.finish();
        }
    }

    #[test]
    fn gids_give_their_type_and_number() {
        assert_eq!(
            gid_type("gid://shopify/ProductVariant/42"),
            Some("ProductVariant")
        );
        assert_eq!(gid_number("gid://shopify/ProductVariant/42"), Some(42));
        assert_eq!(gid_number("gid://shopify/Collection/7?v=1"), Some(7));
        assert_eq!(gid_number("gid://shopify/Product/x"), None);
        assert_eq!(gid_number("https://example.com/1"), None);
    }
}
