//! The restore mutations of collections, pages, articles, URL redirects, menus and metaobjects:
//! their payloads and the helpers they share (their dispatch and scopes are in
//! `restore_dispatch`). Each mutation validates its
//! whole input first and changes nothing when it answers user errors; what it creates gets a
//! new ID (an ID is never handed out twice); what it changes gets `updatedAt` = the model's now.
//!
//! Simplified against Shopify:
//! - Collections: `image` and `publications` are ignored; well-formed IDs of products that
//!   don't exist are dropped (malformed ones are a GraphQL error); a given handle that is taken
//!   is a user error (no suffix is added); `collectionRemoveProducts` answers a finished `job`.
//! - Pages and articles: `publishDate` in the past publishes at that time, in the future
//!   schedules (unpublished); an article's `image.url` is stored as given (not downloaded);
//!   `author.userId` always fails (`AUTHOR_MUST_EXIST`: the fake has no staff); `blog: {title}`
//!   makes a new blog; handles of articles are unique within their blog.
//! - Redirects: a path gets a leading `/` (scheme and host dropped); paths are unique ignoring
//!   case.
//! - Menus: the `url` of an item linking to a resource is ignored (it follows the resource);
//!   items of other types need a `url` unless their type implies one (`FRONTPAGE`, `CATALOG`,
//!   `COLLECTIONS`, `SEARCH`); an item keeps its `id` only if it is one of the menu's items;
//!   blank or taken titles and handles have a null `code` (Shopify's menu error codes are only
//!   `NESTING_TOO_DEEP` and `NOT_FOUND`).
//! - Metaobjects: values are checked against the type (single line, integer, URL) and the
//!   `min`/`max` validations; references are stored as given; the `values` argument and
//!   `capabilities` are not supported.
//! - Metafields given to create or update are merged by (namespace, key) into those there
//!   (`productSet` alone replaces).

use crate::exec::{gid, parse_gid, GqlError, Obj, Out};
use crate::gql::Field;
use crate::input::{list, str_field};
use crate::model::*;
use crate::user_errors::objs;
use serde_json::{json, Map, Value};

/// The object a payload returns.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Collection(u64),
    Page(u64),
    Article(u64),
    Redirect(u64),
    Menu(u64),
    Metaobject(u64),
}

/// What a restore mutation did, rendered once the model is updated.
#[derive(Debug)]
pub(crate) struct Restored {
    /// The payload's type name.
    pub payload: &'static str,
    /// The payload's object field and what it holds (`None` for payloads without one).
    pub object: Option<(&'static str, Option<Target>)>,
    /// The payload's `job`: absent, null, or a finished job's JSON.
    pub job: Option<Value>,
    /// The user errors' type name.
    pub error_type: &'static str,
    /// The user errors.
    pub errors: Vec<Value>,
}

impl Restored {
    /// A payload with an object field.
    pub(crate) fn new(
        payload: &'static str,
        field: &'static str,
        error_type: &'static str,
    ) -> Restored {
        Restored {
            payload,
            object: Some((field, None)),
            job: None,
            error_type,
            errors: Vec::new(),
        }
    }

    /// The same with user errors.
    pub(crate) fn failed(mut self, errors: Vec<Value>) -> Restored {
        self.errors = errors;
        self
    }

    /// The same returning `target`.
    pub(crate) fn with(mut self, target: Target) -> Restored {
        if let Some((_, t)) = &mut self.object {
            *t = Some(target);
        }
        self
    }

    /// The payload object.
    pub(crate) fn payload(self, store: &Store) -> Obj<'_> {
        let mut fields = Vec::new();
        if let Some((name, target)) = self.object {
            let obj = target.and_then(|t| match t {
                Target::Collection(id) => store.collections.get(&id).map(Obj::Collection),
                Target::Page(id) => store.pages.get(&id).map(Obj::Page),
                Target::Article(id) => store.articles.get(&id).map(Obj::Article),
                Target::Redirect(id) => store.redirects.get(&id).map(Obj::Redirect),
                Target::Menu(id) => store.menus.get(&id).map(Obj::Menu),
                Target::Metaobject(id) => store.metaobjects.get(&id).map(Obj::Metaobject),
            });
            fields.push((name, obj.map_or(Out::Val(Value::Null), Out::Obj)));
        }
        if let Some(job) = self.job {
            let out = match job {
                Value::Object(m) => Out::Obj(Obj::Plain("Job", m)),
                _ => Out::Val(Value::Null),
            };
            fields.push(("job", out));
        }
        let mut errors = self.errors;
        if self.error_type == "MetaobjectUserError" {
            for e in &mut errors {
                if let Value::Object(m) = e {
                    m.entry("elementKey").or_insert(Value::Null);
                    m.entry("elementIndex").or_insert(Value::Null);
                }
            }
        }
        fields.push(("userErrors", objs(errors, self.error_type)));
        Obj::Payload(self.payload, fields)
    }
}

/// A user error with a code (`code: None` writes `null`).
pub(crate) fn err(field: &[&str], message: impl Into<String>, code: Option<&str>) -> Value {
    json!({ "field": field, "message": message.into(), "code": code })
}

/// A user error of the plain `UserError` type (no code).
pub(crate) fn plain_err(field: &[&str], message: impl Into<String>) -> Value {
    json!({ "field": field, "message": message.into() })
}

/// A required input-object argument, or the GraphQL error Shopify gives without one.
pub(crate) fn object_arg(
    f: &Field,
    vars: &Map<String, Value>,
    name: &str,
    ty: &str,
) -> Result<Value, GqlError> {
    f.arg(name, vars).filter(Value::is_object).ok_or_else(|| {
        GqlError::new(
            format!("Variable ${name} of type {ty}! was provided invalid value"),
            Some("INVALID_VARIABLE"),
        )
    })
}

/// A variable-coercion error for a bad value inside an input.
pub(crate) fn invalid_input(ty: &str, what: &str) -> GqlError {
    GqlError::new(
        format!("Variable $input of type {ty} was provided invalid value for {what}"),
        Some("INVALID_VARIABLE"),
    )
}

/// The numeric ID of an `ID` argument of type `ty` (`None` when missing, malformed or of another
/// type).
pub(crate) fn id_arg(f: &Field, vars: &Map<String, Value>, name: &str, ty: &str) -> Option<u64> {
    f.arg(name, vars).and_then(|v| parse_gid(ty, &v))
}

/// Whether the input has the key (even as `null`).
pub(crate) fn has(input: &Value, key: &str) -> bool {
    input.get(key).is_some()
}

/// Tags given as a list or as a comma-separated string; `None` when absent.
pub(crate) fn tags(input: &Value) -> Option<Vec<String>> {
    match input.get("tags") {
        Some(Value::Array(t)) => Some(
            t.iter()
                .filter_map(|x| x.as_str().map(|s| s.trim().to_string()))
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        _ => None,
    }
}

/// `MetafieldInput`s merged into `old`: an existing (namespace, key) is updated in place, a new
/// one is added with a fresh ID of `kind`. Errors name the input's index.
pub(crate) fn merge_metafields(
    input: &[Value],
    old: &[Metafield],
    ids: &mut IdAllocator,
    kind: Kind,
) -> Result<Vec<Metafield>, (usize, &'static str, String)> {
    let mut out = old.to_vec();
    for (i, m) in input.iter().enumerate() {
        let namespace = str_field(m, "namespace").unwrap_or_else(|| "custom".into());
        let Some(key) = str_field(m, "key").filter(|k| !k.is_empty()) else {
            return Err((i, "key", "Key can't be blank".into()));
        };
        let value = match m.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => return Err((i, "value", "Value can't be blank".into())),
            Some(other) => other.to_string(),
        };
        match out
            .iter_mut()
            .find(|o| o.namespace == namespace && o.key == key)
        {
            Some(existing) => {
                if let Some(t) = str_field(m, "type") {
                    existing.type_name = t;
                }
                existing.value = value;
            }
            None => out.push(Metafield {
                id: ids.next(kind),
                namespace,
                key,
                type_name: str_field(m, "type").unwrap_or_else(|| "single_line_text_field".into()),
                value,
            }),
        }
    }
    Ok(out)
}

/// The metafields of an input (`metafields: [...]`) merged into `old`, or a user error made by
/// `error(field path, message)`.
pub(crate) fn input_metafields(
    input: &Value,
    old: &[Metafield],
    ids: &mut IdAllocator,
    kind: Kind,
    prefix: &[&str],
) -> Result<Vec<Metafield>, (Vec<String>, String)> {
    let Some(given) = list(input, "metafields") else {
        return Ok(old.to_vec());
    };
    merge_metafields(&given, old, ids, kind).map_err(|(i, key, message)| {
        let mut field: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
        field.extend(["metafields".to_string(), i.to_string(), key.to_string()]);
        (field, message)
    })
}

/// An ISO-8601 time from an input (`2026-11-01T09:00:00Z`, with or without the zone or the
/// time), normalised to the model's form; `None` if it is not one.
pub(crate) fn parse_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return None;
    }
    if b.len() == 10 {
        return Some(format!("{s}T00:00:00Z"));
    }
    if b.get(10) != Some(&b'T') || !digits(11..13) || !digits(14..16) || !digits(17..19) {
        return None;
    }
    Some(format!("{}Z", &s[..19]))
}

/// Publication from `isPublished` and `publishDate` (on top of the current state): the new
/// `(is_published, published_at)`, or the error message of a published item with a future date.
pub(crate) fn publication(
    input: &Value,
    current: (bool, Option<String>),
    now: &str,
) -> Result<(bool, Option<String>), (&'static str, String)> {
    let flag = input.get("isPublished").and_then(Value::as_bool);
    let date = match input.get("publishDate") {
        Some(Value::String(s)) => {
            Some(parse_time(s).ok_or(("publishDate", format!("Publish date '{s}' is invalid")))?)
        }
        _ => None,
    };
    Ok(match (flag, date) {
        (Some(true), Some(d)) if d.as_str() > now => {
            return Err((
                "isPublished",
                "Can’t set isPublished to true and also set a future publish date.".into(),
            ))
        }
        (Some(true), d) => (true, d.or(current.1).or_else(|| Some(now.to_string()))),
        (Some(false), Some(d)) if d.as_str() > now => (false, Some(d)),
        (Some(false), _) => (false, None),
        (None, Some(d)) => (d.as_str() <= now, Some(d)),
        (None, None) => current,
    })
}

/// Adds a redirect `from` → `to` unless `from` is taken (for `redirectNewHandle`).
pub(crate) fn redirect_handle(store: &mut Store, from: String, to: String) {
    if from == to
        || store
            .redirects
            .values()
            .any(|r| r.path.eq_ignore_ascii_case(&from))
    {
        return;
    }
    let id = store.ids.next(Kind::Redirect);
    store.redirects.insert(
        id,
        Redirect {
            id,
            path: from,
            target: to,
        },
    );
}

/// A finished job's JSON (the fake's asynchronous work is done at once).
pub(crate) fn done_job(seed: u64) -> Value {
    json!({ "__typename": "Job", "id": gid("Job", seed), "done": true, "query": null })
}
