//! The rate limit: a leaky bucket of query-cost points, and the cost rule.
//!
//! **Cost rule.** A query costs 1, plus N for every field carrying `first: N` or `last: N`
//! (variables resolved, fragments counted where used; nested connections add, they do not
//! multiply). A mutation costs 10 per top-level mutation field (`bulkOperationRunQuery`,
//! `stagedUploadsCreate`, `productSet`, `themeFilesUpsert`, the other restore mutations). Polling a bulk operation (`node`, `currentBulkOperation`)
//! therefore costs 1. The inner query of a bulk operation is not costed (its `first:` is ignored).
//! The actual cost of a query is 1 plus the connection nodes it returned (at most the requested
//! cost); the difference is refunded to the bucket, as Shopify does. A query whose requested
//! cost exceeds 1000 (or the bucket's size, if smaller) is refused with `MAX_COST_EXCEEDED`.

use crate::gql::{Document, Selection};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Instant;

/// Shopify's single-query limit.
pub const MAX_QUERY_COST: u64 = 1000;

/// A leaky bucket: `available` refills at `rate` points a second up to `max`.
#[derive(Debug)]
pub struct Bucket {
    max: f64,
    rate: f64,
    available: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(max: f64, rate: f64) -> Self {
        Bucket {
            max,
            rate,
            available: max,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.available = (self.available + elapsed * self.rate).min(self.max);
    }

    /// Takes `cost` points if they are there.
    pub fn try_take(&mut self, cost: u64) -> bool {
        self.refill();
        if cost as f64 > self.available {
            return false;
        }
        self.available -= cost as f64;
        true
    }

    /// Gives back points not used.
    pub fn refund(&mut self, points: u64) {
        self.available = (self.available + points as f64).min(self.max);
    }

    /// The largest query cost accepted at all.
    pub fn max_query_cost(&self) -> u64 {
        MAX_QUERY_COST.min(self.max as u64)
    }

    /// `extensions.cost` of an answer.
    pub fn cost_extension(&mut self, requested: u64, actual: Option<u64>) -> Value {
        self.refill();
        json!({
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.max,
                "currentlyAvailable": self.available.floor() as u64,
                "restoreRate": self.rate,
            }
        })
    }
}

fn sum_first(
    sel: &[Selection],
    vars: &Map<String, Value>,
    fragments: &HashMap<String, (String, Vec<Selection>)>,
    depth: usize,
) -> u64 {
    if depth > 32 {
        return 0;
    }
    let mut total: u64 = 0;
    for s in sel {
        let inner = match s {
            Selection::Field(f) => {
                for name in ["first", "last"] {
                    if let Some(n) = f.arg(name, vars).and_then(|v| v.as_u64()) {
                        total = total.saturating_add(n);
                    }
                }
                &f.selection
            }
            Selection::Inline(_, inner, _) => inner,
            Selection::Spread(name, _) => match fragments.get(name) {
                Some((_, inner)) => inner,
                None => continue,
            },
        };
        total = total.saturating_add(sum_first(inner, vars, fragments, depth + 1));
    }
    total
}

/// The requested cost of a document, per the rule above.
pub fn requested_cost(doc: &Document, vars: &Map<String, Value>) -> u64 {
    if doc.kind == "mutation" {
        let fields = doc
            .selection
            .iter()
            .filter(|s| matches!(s, Selection::Field(f) if f.name != "__typename"))
            .count();
        return 10 * fields.max(1) as u64;
    }
    1u64.saturating_add(sum_first(&doc.selection, vars, &doc.fragments, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gql::parse;

    #[test]
    fn costs() {
        let vars: Map<String, Value> = serde_json::from_str(r#"{"n": 7}"#).unwrap();
        let q = |s: &str| requested_cost(&parse(s, None).unwrap(), &vars);
        assert_eq!(q("{ shop { id } }"), 1);
        assert_eq!(q("query($n: Int) { themes(first: $n) { nodes { id files(first: 250) { nodes { filename } } } } }"), 258);
        assert_eq!(
            q("mutation { bulkOperationRunQuery(query: \"\") { bulkOperation { id } } }"),
            10
        );
        assert_eq!(q("query { node(id: \"x\") { id } }"), 1);
    }

    #[test]
    fn bucket_refills_and_refunds() {
        let mut b = Bucket::new(100.0, 50.0);
        assert!(b.try_take(90));
        assert!(!b.try_take(50));
        b.refund(40);
        assert!(b.try_take(50));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(b.try_take(5));
        assert_eq!(b.max_query_cost(), 100);
    }
}
