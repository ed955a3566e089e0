//! The user errors of mutation payloads: building them and rendering them as objects.

use crate::exec::{Obj, Out};
use serde_json::{json, Map, Value};

/// A user error: `field` (a path), `message` and `code`.
pub(crate) fn user_error(
    field: Option<Vec<Value>>,
    message: impl Into<String>,
    code: &str,
) -> Value {
    json!({ "field": field, "message": message.into(), "code": code })
}

/// The `field` path of a user error.
pub(crate) fn path(parts: &[&str]) -> Option<Vec<Value>> {
    Some(parts.iter().map(|p| Value::from(*p)).collect())
}

/// User errors as a list of plain objects of type `ty` (the theme files' errors get a null
/// `filename` when they have none).
pub(crate) fn objs(errors: Vec<Value>, ty: &'static str) -> Out<'static> {
    Out::List(
        errors
            .into_iter()
            .map(|e| match e {
                Value::Object(mut m) => {
                    if ty == "OnlineStoreThemeFilesUserErrors" {
                        m.entry("filename").or_insert(Value::Null);
                    }
                    Obj::Plain(ty, m)
                }
                _ => Obj::Plain(ty, Map::new()),
            })
            .collect(),
    )
}
