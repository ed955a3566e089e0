//! Runs a parsed selection against the model: fragments, `@include`/`@skip`, `__typename`,
//! objects, lists and Relay connections (with honest cursors), and the bulk variant that writes
//! one JSONL line per connection node with `__parentId`.

use crate::bulk_ops::BulkOps;
use crate::gql::{Field, Selection};
pub use crate::ids::{gid, parse_gid};
use crate::model::*;
pub use crate::obj::{GqlError, Obj, Out};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Execution context: the model, the request's variables and fragments, and what the request used.
pub struct Ctx<'a> {
    /// The store.
    pub store: &'a Store,
    /// Bulk operations (for `node` and `currentBulkOperation`).
    pub bulk: &'a BulkOps,
    /// Variables.
    pub vars: &'a Map<String, Value>,
    /// Named fragments.
    pub fragments: &'a HashMap<String, (String, Vec<Selection>)>,
    /// `http://127.0.0.1:PORT`.
    pub base: &'a str,
    /// Denied scopes.
    pub denied: &'a BTreeSet<String>,
    /// Bulk mode: `first`, cursors and pagination are ignored, connections return every node.
    pub bulk_mode: bool,
    /// Connection nodes returned (for the actual query cost).
    pub nodes_returned: u64,
    /// Theme file bodies sent.
    pub theme_bodies: u64,
    /// Variants by ID, built on first use (line items point at variants).
    pub variants: Option<HashMap<u64, (&'a Product, &'a Variant)>>,
}

/// The key that orders a numeric ID in a connection (and its cursor).
pub(crate) fn key(id: u64) -> String {
    format!("{id:020}")
}

/// The opaque cursor of a connection item.
pub fn cursor(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"last_id\":\"{key}\"}}"))
}

fn uncursor(c: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(
        text.strip_prefix("{\"last_id\":\"")?
            .strip_suffix("\"}")?
            .to_string(),
    )
}

impl<'a> Ctx<'a> {
    /// A context for one request.
    pub fn new(
        store: &'a Store,
        bulk: &'a BulkOps,
        vars: &'a Map<String, Value>,
        fragments: &'a HashMap<String, (String, Vec<Selection>)>,
        base: &'a str,
        denied: &'a BTreeSet<String>,
    ) -> Self {
        Ctx {
            store,
            bulk,
            vars,
            fragments,
            base,
            denied,
            bulk_mode: false,
            nodes_returned: 0,
            theme_bodies: 0,
            variants: None,
        }
    }

    fn condition_holds(&self, conditions: &[(bool, crate::gql::AstValue)]) -> bool {
        conditions
            .iter()
            .all(|(include, v)| v.eval(self.vars).as_bool().unwrap_or(true) == *include)
    }

    /// The fields of `sel` that apply to `obj`, fragments flattened, in order.
    pub fn collect<'s>(&self, obj: &Obj<'_>, sel: &'s [Selection], out: &mut Vec<&'s Field>)
    where
        'a: 's,
    {
        self.collect_at(obj, sel, out, 0);
    }

    fn collect_at<'s>(
        &self,
        obj: &Obj<'_>,
        sel: &'s [Selection],
        out: &mut Vec<&'s Field>,
        depth: usize,
    ) where
        'a: 's,
    {
        // Fragments that spread themselves would recurse for ever.
        if depth > 32 {
            return;
        }
        for s in sel {
            match s {
                Selection::Field(f) => {
                    if self.condition_holds(&f.conditions) {
                        out.push(f);
                    }
                }
                Selection::Inline(ty, inner, dirs) => {
                    if ty.as_deref().is_none_or(|t| obj.is_a(t)) && self.condition_holds(dirs) {
                        self.collect_at(obj, inner, out, depth + 1);
                    }
                }
                Selection::Spread(name, dirs) => {
                    if let Some((ty, inner)) = self.fragments.get(name) {
                        if obj.is_a(ty) && self.condition_holds(dirs) {
                            self.collect_at(obj, inner, out, depth + 1);
                        }
                    }
                }
            }
        }
    }

    /// Resolves a selection on an object into a JSON object.
    pub fn select(
        &mut self,
        obj: &Obj<'a>,
        sel: &[Selection],
    ) -> Result<Map<String, Value>, GqlError> {
        let mut fields = Vec::new();
        self.collect(obj, sel, &mut fields);
        let mut out = Map::new();
        for f in fields {
            let value = if f.name == "__typename" {
                match obj {
                    Obj::Plain(_, m) if m.contains_key("__typename") => m["__typename"].clone(),
                    _ => Value::from(obj.typename()),
                }
            } else {
                let resolved = self.resolve(obj, f)?;
                self.complete(resolved, f)?
            };
            out.insert(f.key().to_string(), value);
        }
        Ok(out)
    }

    /// Turns a resolved value into JSON per the field's selection.
    pub fn complete(&mut self, out: Out<'a>, f: &Field) -> Result<Value, GqlError> {
        Ok(match out {
            Out::Val(Value::Object(m)) if !f.selection.is_empty() => {
                Value::Object(self.select(&Obj::Plain("Object", m), &f.selection)?)
            }
            Out::Val(Value::Array(items)) if !f.selection.is_empty() => {
                let mut list = Vec::new();
                for item in items {
                    list.push(match item {
                        Value::Object(m) => {
                            Value::Object(self.select(&Obj::Plain("Object", m), &f.selection)?)
                        }
                        other => other,
                    });
                }
                Value::Array(list)
            }
            Out::Val(v) => {
                if !f.selection.is_empty() && !v.is_null() {
                    return Err(GqlError::new(
                        format!("Selections can't be made on scalars (field '{}')", f.name),
                        Some("selectionMismatch"),
                    ));
                }
                v
            }
            Out::Obj(o) => {
                if f.selection.is_empty() {
                    return Err(GqlError::new(format!("Field must have selections (field '{}' returns {} but has no selections)", f.name, o.typename()), Some("selectionMismatch")));
                }
                Value::Object(self.select(&o, &f.selection)?)
            }
            Out::List(objs) => {
                let mut list = Vec::new();
                for o in objs {
                    list.push(Value::Object(self.select(&o, &f.selection)?));
                }
                Value::Array(list)
            }
            Out::Conn(items) => self.connection(items, f)?,
        })
    }

    /// One page of a connection as `{edges, nodes, pageInfo}`.
    fn connection(
        &mut self,
        mut items: Vec<(String, Obj<'a>)>,
        f: &Field,
    ) -> Result<Value, GqlError> {
        let first = f.arg("first", self.vars).and_then(|v| v.as_u64());
        let last = f.arg("last", self.vars).and_then(|v| v.as_u64());
        if f.arg("reverse", self.vars).and_then(|v| v.as_bool()) == Some(true) {
            items.reverse();
        }
        if !self.bulk_mode && first.is_none() && last.is_none() {
            return Err(GqlError::new(
                "you must provide one of first or last",
                Some("argumentLiteralsIncompatible"),
            ));
        }
        let position =
            |c: &Value, items: &[(String, Obj<'a>)]| -> Result<(usize, bool), GqlError> {
                let key = c.as_str().and_then(uncursor).ok_or_else(|| {
                    GqlError::new(
                        "Invalid cursor for current pagination sort.",
                        Some("BAD_REQUEST"),
                    )
                })?;
                Ok(match items.iter().position(|(k, _)| *k == key) {
                    Some(i) => (i, true),
                    None => (
                        items
                            .iter()
                            .position(|(k, _)| *k > key)
                            .unwrap_or(items.len()),
                        false,
                    ),
                })
            };
        let mut start = 0;
        let mut end = items.len();
        if let Some(after) = f.arg("after", self.vars) {
            let (i, found) = position(&after, &items)?;
            start = if found { i + 1 } else { i };
        }
        if let Some(before) = f.arg("before", self.vars) {
            end = position(&before, &items)?.0.max(start);
        }
        let (mut has_next, mut has_prev) = (end < items.len(), start > 0);
        if !self.bulk_mode {
            if let Some(n) = first {
                let n = n as usize;
                if end - start > n {
                    end = start + n;
                    has_next = true;
                }
            }
            if let Some(n) = last {
                let n = n as usize;
                if end - start > n {
                    start = end - n;
                    has_prev = true;
                }
            }
        }
        let page: Vec<(String, Obj<'a>)> = items.drain(start..end).collect();
        self.nodes_returned += page.len() as u64;
        let mut out = Map::new();
        let mut fields = Vec::new();
        self.collect(
            &Obj::Plain("Connection", Map::new()),
            &f.selection,
            &mut fields,
        );
        for g in fields {
            let v = match g.name.as_str() {
                "__typename" => Value::from("Connection"),
                "edges" => {
                    let mut edges = Vec::new();
                    for (key, node) in &page {
                        let mut subfields = Vec::new();
                        self.collect(
                            &Obj::Plain("Edge", Map::new()),
                            &g.selection,
                            &mut subfields,
                        );
                        let mut edge = Map::new();
                        for h in subfields {
                            let v = match h.name.as_str() {
                                "cursor" => Value::from(cursor(key)),
                                "node" => Value::Object(self.select(node, &h.selection)?),
                                "__typename" => Value::from("Edge"),
                                other => return Err(GqlError::undefined_field("Edge", other)),
                            };
                            edge.insert(h.key().into(), v);
                        }
                        edges.push(Value::Object(edge));
                    }
                    Value::Array(edges)
                }
                "nodes" => {
                    let mut nodes = Vec::new();
                    for (_, node) in &page {
                        nodes.push(Value::Object(self.select(node, &g.selection)?));
                    }
                    Value::Array(nodes)
                }
                "pageInfo" => {
                    let info = json!({
                        "__typename": "PageInfo",
                        "hasNextPage": has_next,
                        "hasPreviousPage": has_prev,
                        "startCursor": page.first().map(|(k, _)| cursor(k)),
                        "endCursor": page.last().map(|(k, _)| cursor(k)),
                    });
                    let Value::Object(m) = info else {
                        unreachable!()
                    };
                    Value::Object(self.select(&Obj::Plain("PageInfo", m), &g.selection)?)
                }
                other => return Err(GqlError::undefined_field("Connection", other)),
            };
            out.insert(g.key().into(), v);
        }
        Ok(Value::Object(out))
    }

    /// Writes `obj` as one JSONL line, then (depth first) its connections' nodes as lines of
    /// their own with `__parentId`. Returns the number of lines written.
    pub fn bulk_emit(
        &mut self,
        obj: &Obj<'a>,
        sel: &[Selection],
        parent: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<u64, GqlError> {
        let mut fields = Vec::new();
        self.collect(obj, sel, &mut fields);
        let mut line = Map::new();
        let mut children = Vec::new();
        for f in fields {
            if f.name == "__typename" {
                line.insert(f.key().into(), obj.typename().into());
                continue;
            }
            match self.resolve(obj, f)? {
                Out::Conn(items) => children.push((f, items)),
                other => {
                    let v = self.complete(other, f)?;
                    line.insert(f.key().into(), v);
                }
            }
        }
        if let Some(p) = parent {
            line.insert("__parentId".into(), p.into());
        }
        serde_json::to_writer(&mut *out, &Value::Object(line))
            .map_err(|e| GqlError::new(e.to_string(), None))?;
        out.push(b'\n');
        let mut lines = 1;
        let me = obj.gid();
        for (f, items) in children {
            let node_sel = node_selection(f);
            for (_, item) in items {
                lines += self.bulk_emit(&item, &node_sel, me.as_deref(), out)?;
            }
        }
        Ok(lines)
    }
}

/// The node selection of a connection field: `edges { node { ... } }` and `nodes { ... }` merged.
pub fn node_selection(f: &Field) -> Vec<Selection> {
    let mut out = Vec::new();
    for s in &f.selection {
        if let Selection::Field(g) = s {
            match g.name.as_str() {
                "nodes" => out.extend(g.selection.iter().cloned()),
                "edges" => {
                    for t in &g.selection {
                        if let Selection::Field(h) = t {
                            if h.name == "node" {
                                out.extend(h.selection.iter().cloned());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether a field selects a connection (`edges` or `nodes`).
pub fn is_connection(f: &Field) -> bool {
    f.selection
        .iter()
        .any(|s| matches!(s, Selection::Field(g) if g.name == "edges" || g.name == "nodes"))
}
