//! Two versions of an item compared as JSON, field by field, and told in the merchant's words:
//! list elements are matched by their `id` and named by their SKU, title or handle, so a price
//! edit reads `variant SKU-1: price 12.00 -> 14.00` rather than as a text diff.

use serde_json::Value;

/// One field that differs between two versions of an item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// Where it is: `price`, `variant SKU-1 price`, `tags`, `seo title`.
    pub field: String,
    /// The old value (`null` when the field is new).
    pub old: Value,
    /// The new value (`null` when the field is gone).
    pub new: Value,
}

/// Fields that change with every edit and say nothing of their own.
const NOISE: &[&str] = &["updatedAt"];

/// The changes from `old` to `new`. A change of a noise field alone (`updatedAt`) is reported
/// when it is the only one.
pub fn compare(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    let meaningful: Vec<FieldChange> = out
        .iter()
        .filter(|c| {
            !NOISE
                .iter()
                .any(|n| c.field == *n || c.field.ends_with(&format!(" {n}")))
        })
        .cloned()
        .collect();
    if meaningful.is_empty() {
        out
    } else {
        meaningful
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix} {name}")
    }
}

fn walk(at: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let va = a.get(k).unwrap_or(&Value::Null);
                let vb = b.get(k).unwrap_or(&Value::Null);
                walk(&join(at, k), va, vb, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if is_keyed(a) && is_keyed(b) => {
            keyed_lists(at, a, b, out);
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(is_scalar) => {
            let added: Vec<Value> = b.iter().filter(|v| !a.contains(v)).cloned().collect();
            let removed: Vec<Value> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
            if added.is_empty() && removed.is_empty() {
                // Same members, new order.
                out.push(FieldChange {
                    field: format!("{} order", if at.is_empty() { "list" } else { at }),
                    old: old.clone(),
                    new: new.clone(),
                });
            } else {
                out.push(FieldChange {
                    field: at.to_string(),
                    old: Value::Array(removed),
                    new: Value::Array(added),
                });
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&join(at, &format!("#{}", i + 1)), x, y, out);
            }
        }
        _ => out.push(FieldChange {
            field: at.to_string(),
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// A list of objects that each carry an `id`.
fn is_keyed(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|v| v.get("id").is_some_and(Value::is_string))
}

/// Elements matched by `id`: added, removed, and changed ones named by their label.
fn keyed_lists(at: &str, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    let id = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let singular = singular(at);
    for x in a {
        match b.iter().find(|y| id(y) == id(x)) {
            Some(y) => walk(&join(&singular, &label(x, y)), x, y, out),
            None => out.push(FieldChange {
                field: format!("{singular} {} removed", label(x, x)),
                old: x.clone(),
                new: Value::Null,
            }),
        }
    }
    for y in b.iter().filter(|y| !a.iter().any(|x| id(x) == id(y))) {
        out.push(FieldChange {
            field: format!("{singular} {} added", label(y, y)),
            old: Value::Null,
            new: y.clone(),
        });
    }
    let order_a: Vec<String> = a
        .iter()
        .map(id)
        .filter(|i| b.iter().any(|y| id(y) == *i))
        .collect();
    let order_b: Vec<String> = b
        .iter()
        .map(id)
        .filter(|i| a.iter().any(|x| id(x) == *i))
        .collect();
    if order_a != order_b {
        out.push(FieldChange {
            field: format!("{} order", if at.is_empty() { "list" } else { at }),
            old: Value::Array(order_a.into_iter().map(Value::String).collect()),
            new: Value::Array(order_b.into_iter().map(Value::String).collect()),
        });
    }
}

/// `variants` -> `variant`, `media` stays, `lineItems` -> `lineItem`.
fn singular(field: &str) -> String {
    let last = field.rsplit(' ').next().unwrap_or(field);
    let one = last
        .strip_suffix('s')
        .filter(|s| !s.is_empty())
        .unwrap_or(last);
    match field.rsplit_once(' ') {
        Some((head, _)) => format!("{head} {one}"),
        None => one.to_string(),
    }
}

/// How a list element is named: its SKU, title, handle, key or name (the new version's when it
/// changed), else the number of its ID.
fn label(old: &Value, new: &Value) -> String {
    for k in ["sku", "title", "handle", "key", "name", "filename"] {
        for v in [new, old] {
            if let Some(s) = v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                return s.to_string();
            }
        }
    }
    let id = new.get("id").and_then(Value::as_str).unwrap_or("");
    id.rsplit('/').next().unwrap_or(id).to_string()
}

/// A value as a merchant reads it: strings without quotes, `none` for null, short JSON
/// otherwise.
pub fn shown(v: &Value) -> String {
    let s = match v {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(is_scalar) => {
            let parts: Vec<String> = a.iter().map(shown).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    };
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one.chars().count() > 80 {
        let cut: String = one.chars().take(77).collect();
        format!("{cut}...")
    } else {
        one
    }
}

/// One change as a phrase: `variant SKU-1 price 12.00 -> 14.00`, `tags +sale -new`.
pub fn phrase(c: &FieldChange) -> String {
    if c.field.ends_with(" added") || c.field.ends_with(" removed") {
        return c.field.clone();
    }
    match (&c.old, &c.new) {
        (Value::Array(removed), Value::Array(added))
            if !c.field.ends_with(" order") && removed.iter().chain(added).all(is_scalar) =>
        {
            let mut parts: Vec<String> = added.iter().map(|v| format!("+{}", shown(v))).collect();
            parts.extend(removed.iter().map(|v| format!("-{}", shown(v))));
            format!("{} {}", c.field, parts.join(" "))
        }
        (old, new) => format!("{} {} -> {}", c.field, shown(old), shown(new)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn phrases(a: Value, b: Value) -> Vec<String> {
        compare(&a, &b).iter().map(phrase).collect()
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("(id|sku|[a-c])", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any two JSON values compare without a panic, and a value equals itself.
        #[test]
        fn any_two_values_compare(a in any_json(), b in any_json()) {
            let _: Vec<String> = compare(&a, &b).iter().map(phrase).collect();
            proptest::prop_assert!(compare(&a, &a).is_empty());
        }
    }

    #[test]
    fn variants_are_matched_by_id_and_named_by_sku() {
        let old = json!({"title": "Blue Mug", "updatedAt": "1", "tags": ["new", "mug"],
            "variants": [
                {"id": "gid://shopify/ProductVariant/1", "sku": "SKU-1", "price": "12.00", "inventoryQuantity": 5},
                {"id": "gid://shopify/ProductVariant/2", "sku": "SKU-2", "price": "9.00"}]});
        let new = json!({"title": "Blue Mug", "updatedAt": "2", "tags": ["mug", "sale"],
            "variants": [
                {"id": "gid://shopify/ProductVariant/1", "sku": "SKU-1", "price": "14.00", "inventoryQuantity": 3},
                {"id": "gid://shopify/ProductVariant/3", "sku": "SKU-3", "price": "1.00"}]});
        assert_eq!(
            phrases(old, new),
            [
                "tags +sale -new",
                "variant SKU-1 inventoryQuantity 5 -> 3",
                "variant SKU-1 price 12.00 -> 14.00",
                "variant SKU-2 removed",
                "variant SKU-3 added",
            ]
        );
    }

    #[test]
    fn a_change_of_the_edit_time_alone_is_still_reported() {
        assert_eq!(
            phrases(
                json!({"updatedAt": "1", "a": 1}),
                json!({"updatedAt": "2", "a": 1})
            ),
            ["updatedAt 1 -> 2"]
        );
        assert!(compare(&json!({"a": [1, 2]}), &json!({"a": [1, 2]})).is_empty());
    }

    #[test]
    fn nested_objects_reordered_lists_and_long_values_read_well() {
        assert_eq!(
            phrases(
                json!({"seo": {"title": null}}),
                json!({"seo": {"title": "Mugs"}})
            ),
            ["seo title none -> Mugs"]
        );
        assert_eq!(
            phrases(
                json!({"products": [{"id": "a"}, {"id": "b"}]}),
                json!({"products": [{"id": "b"}, {"id": "a"}]})
            ),
            ["products order [a, b] -> [b, a]"]
        );
        let long = "x".repeat(200);
        let p = phrases(json!({"body": "short"}), json!({"body": long}));
        assert!(p[0].ends_with("...") && p[0].len() < 110, "{p:?}");
    }
}
