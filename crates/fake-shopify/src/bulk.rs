//! Bulk query operations: validating the inner query against Shopify's limits, building the JSONL
//! snapshot at creation time, and the CREATED → RUNNING → COMPLETED/FAILED life cycle driven by
//! polls.

use crate::exec::{is_connection, node_selection, Ctx, GqlError, Obj, Out};
use crate::gql::{self, Field, Selection};
use crate::model::Store;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a bulk operation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkStatus {
    /// Just created.
    Created,
    /// Polled, not done yet.
    Running,
    /// Done; `url` serves the JSONL (or is null when there were no objects).
    Completed,
    /// Failed (injected): `partialDataUrl` serves the first half.
    Failed,
}

impl BulkStatus {
    /// The GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Failed => "FAILED",
        }
    }
}

/// One bulk query operation and its result.
#[derive(Clone, Debug)]
pub struct BulkOp {
    /// Numeric ID.
    pub id: u64,
    /// Status.
    pub status: BulkStatus,
    /// The inner query.
    pub query: String,
    /// Creation time (the model's clock).
    pub created_at: String,
    /// Completion time.
    pub completed_at: Option<String>,
    /// The whole result.
    pub jsonl: Vec<u8>,
    /// Lines in `jsonl`.
    pub objects: u64,
    /// Lines without `__parentId`.
    pub roots: u64,
    /// Bytes of the partial result (the first half of the lines).
    pub partial_len: usize,
    /// Lines in the partial result.
    pub partial_objects: u64,
    /// Root lines in the partial result.
    pub partial_roots: u64,
    /// Polls answered so far.
    pub polls: u32,
    /// Ends FAILED (injected).
    pub will_fail: bool,
    /// Its `url` answers 403 (injected).
    pub expired: bool,
}

impl BulkOp {
    /// `objectCount` once finished.
    pub fn visible_objects(&self) -> u64 {
        if self.status == BulkStatus::Failed {
            self.partial_objects
        } else {
            self.objects
        }
    }

    /// `rootObjectCount` once finished.
    pub fn visible_roots(&self) -> u64 {
        if self.status == BulkStatus::Failed {
            self.partial_roots
        } else {
            self.roots
        }
    }
}

/// All bulk operations of the shop.
#[derive(Debug, Default)]
pub struct BulkOps {
    /// By numeric ID.
    pub ops: BTreeMap<u64, BulkOp>,
    /// The most recent one (`currentBulkOperation`).
    pub last: Option<u64>,
    /// Operations created so far.
    pub created: u64,
}

impl BulkOps {
    /// The most recent operation.
    pub fn current(&self) -> Option<&BulkOp> {
        self.last.and_then(|id| self.ops.get(&id))
    }

    /// The operation still CREATED or RUNNING, if any.
    pub fn in_progress(&self) -> Option<u64> {
        self.current()
            .filter(|b| matches!(b.status, BulkStatus::Created | BulkStatus::Running))
            .map(|b| b.id)
    }

    /// A poll of `id`: the first `poll_steps` polls answer RUNNING, the next one finishes it.
    /// `expire` counts down the injected expiries.
    pub fn poll(&mut self, id: u64, poll_steps: u32, expire: &mut u32, now: &str) {
        let Some(op) = self.ops.get_mut(&id) else {
            return;
        };
        if !matches!(op.status, BulkStatus::Created | BulkStatus::Running) {
            return;
        }
        op.polls += 1;
        if op.polls <= poll_steps {
            op.status = BulkStatus::Running;
            return;
        }
        op.completed_at = Some(now.to_string());
        if op.will_fail {
            op.status = BulkStatus::Failed;
        } else {
            op.status = BulkStatus::Completed;
            if op.objects > 0 && *expire > 0 {
                *expire -= 1;
                op.expired = true;
            }
        }
    }

    /// Records a new operation; returns its ID.
    pub fn insert(&mut self, query: String, result: BulkResult, will_fail: bool, now: &str) -> u64 {
        self.created += 1;
        let id = 5_800_000_000 + self.created * 11;
        self.ops.insert(
            id,
            BulkOp {
                id,
                status: BulkStatus::Created,
                query,
                created_at: now.to_string(),
                completed_at: None,
                objects: result.objects,
                roots: result.roots,
                partial_len: result.partial_len,
                partial_objects: result.partial_objects,
                partial_roots: result.partial_roots,
                jsonl: result.jsonl,
                polls: 0,
                will_fail,
                expired: false,
            },
        );
        self.last = Some(id);
        id
    }
}

/// The JSONL of a bulk query and its counts.
#[derive(Debug, Default)]
pub struct BulkResult {
    /// The lines.
    pub jsonl: Vec<u8>,
    /// Number of lines.
    pub objects: u64,
    /// Lines without a parent.
    pub roots: u64,
    /// Bytes in the first half of the lines.
    pub partial_len: usize,
    /// Lines in that half.
    pub partial_objects: u64,
    /// Root lines in that half.
    pub partial_roots: u64,
}

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
