//! Reading the input objects that mutations take (JSON values).

use serde_json::Value;

/// The string at `key` of an input object.
pub(crate) fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

/// The list at `key` of an input object.
pub(crate) fn list(v: &Value, key: &str) -> Option<Vec<Value>> {
    v.get(key).and_then(Value::as_array).cloned()
}
