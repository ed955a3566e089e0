//! Bulk queries: validating the inner query against Shopify's limits and building the JSONL
//! snapshot at creation time (the operations' life cycle is in `bulk_ops`).

pub use crate::bulk_ops::BulkOps;
use crate::bulk_ops::BulkResult;
use crate::exec::{is_connection, node_selection, Ctx, GqlError, Obj, Out};
use crate::gql::{self, Field, Selection};
use crate::model::Store;
use std::collections::{BTreeSet, HashMap};

/// Why a bulk query was refused.
#[derive(Debug)]
pub enum BulkRefusal {
    /// A `userErrors` entry: message.
    Invalid(String),
    /// A scope is missing: a top-level GraphQL error.
    Denied(GqlError),
}

/// The root connections a bulk query may start from.
const BULK_ROOTS: &[&str] = &[
    "products",
    "collections",
    "pages",
    "urlRedirects",
    "customers",
    "orders",
    "blogs",
    "articles",
    "menus",
    "metaobjects",
    "metaobjectDefinitions",
    "locations",
    "inventoryItems",
    "files",
];

/// Connections in a selection, and the deepest nesting of connections (the root counts as 1).
fn count_connections(
    sel: &[Selection],
    fragments: &HashMap<String, (String, Vec<Selection>)>,
    depth: usize,
    seen: usize,
) -> (usize, usize) {
    let mut count = 0;
    let mut deepest = depth;
    for s in sel {
        let (inner, here): (&[Selection], bool) = match s {
            Selection::Field(f) => (&f.selection, is_connection(f)),
            Selection::Inline(_, inner, _) => (inner, false),
            Selection::Spread(name, _) => match fragments.get(name) {
                Some((_, inner)) if seen < 16 => (inner, false),
                _ => continue,
            },
        };
        let (c, d) = count_connections(inner, fragments, depth + usize::from(here), seen + 1);
        count += c + usize::from(here);
        deepest = deepest.max(d);
    }
    (count, deepest)
}

/// Validates a bulk query and runs it against the store.
pub fn run(
    store: &Store,
    ops: &BulkOps,
    query: &str,
    base: &str,
    denied: &BTreeSet<String>,
) -> Result<BulkResult, BulkRefusal> {
    let invalid = |m: String| BulkRefusal::Invalid(format!("Invalid bulk query: {m}"));
    let doc = gql::parse(query, None).map_err(invalid)?;
    if doc.kind != "query" {
        return Err(invalid(
            "Bulk queries must be queries, not mutations or subscriptions.".into(),
        ));
    }
    let roots: Vec<&Field> = doc
        .selection
        .iter()
        .filter_map(|s| {
            if let Selection::Field(f) = s {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    let [root] = roots.as_slice() else {
        return Err(invalid(
            "Bulk queries must select exactly one top-level field.".into(),
        ));
    };
    if root.name == "node" || root.name == "nodes" {
        return Err(invalid(
            "The top-level `node` and `nodes` fields can't be used.".into(),
        ));
    }
    if !is_connection(root) {
        return Err(invalid(format!(
            "Bulk queries must contain at least one connection; `{}` is not one.",
            root.name
        )));
    }
    if !BULK_ROOTS.contains(&root.name.as_str()) {
        return Err(invalid(format!(
            "Field '{}' doesn't exist on type 'QueryRoot'",
            root.name
        )));
    }
    let (connections, depth) = count_connections(&doc.selection, &doc.fragments, 0, 0);
    if connections > 5 {
        return Err(BulkRefusal::Invalid(
            "Queries that contain more than 5 connections are not allowed".into(),
        ));
    }
    if depth > 3 {
        return Err(BulkRefusal::Invalid(
            "Queries that contain connections nested more than 2 levels deep are not allowed"
                .into(),
        ));
    }
    let vars = doc.defaults.clone();
    let mut ctx = Ctx::new(store, ops, &vars, &doc.fragments, base, denied);
    ctx.bulk_mode = true;
    let items = match ctx.resolve(&Obj::Query, root) {
        Ok(Out::Conn(items)) => items,
        Ok(_) => return Err(invalid(format!("`{}` is not a connection", root.name))),
        Err(e) if e.extensions.get("code").and_then(|c| c.as_str()) == Some("ACCESS_DENIED") => {
            return Err(BulkRefusal::Denied(e))
        }
        Err(e) => return Err(invalid(e.message)),
    };
    let node_sel = node_selection(root);
    let mut result = BulkResult::default();
    for (_, item) in items {
        result.objects += ctx
            .bulk_emit(&item, &node_sel, None, &mut result.jsonl)
            .map_err(|e| invalid(e.message))?;
        result.roots += 1;
    }
    let half = result.objects / 2;
    let mut offset = 0;
    for line in result
        .jsonl
        .split_inclusive(|b| *b == b'\n')
        .take(half as usize)
    {
        offset += line.len();
        result.partial_objects += 1;
        if !line.windows(13).any(|w| w == b"\"__parentId\":") {
            result.partial_roots += 1;
        }
    }
    result.partial_len = offset;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, StoreParams};

    fn run_q(store: &Store, q: &str) -> Result<BulkResult, BulkRefusal> {
        run(
            store,
            &BulkOps::default(),
            q,
            "http://127.0.0.1:1",
            &BTreeSet::new(),
        )
    }

    #[test]
    fn limits() {
        let store = generate(&StoreParams {
            products: 3,
            ..StoreParams::default()
        });
        let six = "{ products { edges { node { id variants { edges { node { id metafields { edges { node { id } } } } } } \
                   media { edges { node { id } } } metafields { edges { node { id } } } collections { edges { node { id } } } \
                   x: collections { edges { node { id } } } } } } }";
        assert!(
            matches!(run_q(&store, six), Err(BulkRefusal::Invalid(m)) if m.contains("more than 5 connections"))
        );
        let deep = "{ orders { edges { node { lineItems { edges { node { variant { id } product { collections { edges { node { products { edges { node { id } } } } } } } } } } } } } }";
        assert!(
            matches!(run_q(&store, deep), Err(BulkRefusal::Invalid(m)) if m.contains("2 levels"))
        );
        assert!(matches!(
            run_q(&store, "{ shop { id } }"),
            Err(BulkRefusal::Invalid(_))
        ));
        assert!(
            matches!(run_q(&store, "{ products { edges { node { nope } } } }"), Err(BulkRefusal::Invalid(m)) if m.contains("nope"))
        );
        let ok = run_q(
            &store,
            "{ products(first: 1) { edges { node { id variants { edges { node { id } } } } } } }",
        )
        .unwrap();
        assert_eq!(ok.roots, 3);
        assert!(ok.objects > 3);
    }
}
